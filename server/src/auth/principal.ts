import type { TokenKind } from '../api/index.js';

export type { TokenKind } from '../api/index.js';

/** Who is calling: resolved from the API token on every request. */
export interface Principal {
  id: string;
  name: string;
  displayName: string;
  isAdmin: boolean;
  teamIds: string[];
  tokenKind: TokenKind;
  /** With a job's token: that job (what it causes, such as a logged file, is known to come from it). */
  jobId?: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** Set when the principal came from the session cookie rather than an API token. */
    session?: { idHash: string; csrfToken: string };
  }
}
