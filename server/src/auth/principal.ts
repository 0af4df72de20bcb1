import type { Request } from 'express';
import { TandemError } from '../errors.js';

export type TokenKind = 'user' | 'worker';

/** Who is calling: resolved from the API token on every request. */
export interface Principal {
  id: string;
  name: string;
  displayName: string;
  isAdmin: boolean;
  teamIds: string[];
  tokenKind: TokenKind;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** The caller, or UNAUTHENTICATED: every route that is not public starts with this. */
export function requirePrincipal(req: Request): Principal {
  if (!req.principal) throw new TandemError('UNAUTHENTICATED', 'an API token is required (Authorization: Bearer <token>)');
  if (req.principal.tokenKind === 'worker' && !req.path.startsWith('/workers')) {
    throw new TandemError('FORBIDDEN', 'worker tokens may only use the worker API');
  }
  return req.principal;
}
