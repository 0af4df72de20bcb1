import { parse as parseCookies } from 'cookie';
import type { NextFunction, Request, Response } from 'express';
import type { AuthStore } from '../auth/auth.store.js';
import type { Principal } from '../auth/principal.js';
import { csrfMatches, SESSION_COOKIE, type SessionsService } from '../auth/sessions.service.js';
import { DEPLOYMENT_KEY_PREFIX, hashToken } from '../auth/tokens.js';
import { TandemError } from '../errors.js';

const CACHE_MS = 5_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Resolves `Authorization: Bearer <token>` (or `?token=` for links and WebSockets, which cannot
 * set headers) to `req.principal`. Unknown tokens are rejected; no token means anonymous.
 * Lookups are cached briefly: every request would otherwise cost two queries. A revocation or
 * membership change made through this server makes cached lookups stale at once (`auth.revision`).
 *
 * Without a token, the `tandem_session` cookie signs the person in; an ended session is simply
 * anonymous. Browsers send cookies with requests other sites make, so every cookie-authenticated
 * change must also carry the session's CSRF token (`X-CSRF-Token`, or a form's `csrf` field).
 */
export function authenticate(auth: AuthStore, sessions: Pick<SessionsService, 'resolve'>) {
  // Keyed by the token's hash, so that a revocation (which names hashes) finds its entry.
  const cache = new Map<string, { principal: Principal | undefined; until: number; revision: number }>();
  auth.onChange((change) => {
    if (change.kind === 'tokens') for (const hash of change.hashes) cache.delete(hash);
  });
  return async (req: Request, _res: Response, next: NextFunction) => {
    const token = tokenOf(req);
    if (!token) return signInBySession(req, sessions, next);
    // A deployment's API key signs nobody in: the serving routes check it against their deployment.
    if (token.startsWith(DEPLOYMENT_KEY_PREFIX)) return next();
    const now = Date.now();
    const hash = hashToken(token);
    let hit = cache.get(hash);
    if (!hit || hit.until < now || hit.revision !== auth.revision) {
      if (cache.size > 10_000) cache.clear();
      // Read before the lookup: a lookup that overlaps a change is stale by the time it answers.
      const revision = auth.revision;
      hit = { principal: await auth.authenticate(token), until: now + CACHE_MS, revision };
      cache.set(hash, hit);
    }
    if (!hit.principal) throw new TandemError('UNAUTHENTICATED', 'invalid or revoked API token');
    req.principal = hit.principal;
    next();
  };
}

async function signInBySession(req: Request, sessions: Pick<SessionsService, 'resolve'>, next: NextFunction): Promise<void> {
  const id = parseCookies(req.headers.cookie ?? '')[SESSION_COOKIE];
  const session = id ? await sessions.resolve(id) : undefined;
  if (!session) return next();
  if (!SAFE_METHODS.has(req.method)) {
    const presented = req.headers['x-csrf-token'] ?? (req.body as { csrf?: unknown } | undefined)?.csrf;
    if (!csrfMatches(session, presented)) {
      throw new TandemError(
        'FORBIDDEN',
        'requests signed in by the session cookie must send its CSRF token in the X-CSRF-Token header (GET /tandem/api/sessions/current answers it)',
        // Clients tell this refusal from others: fetching the token again and retrying can help.
        { details: { reason: 'csrf' } },
      );
    }
  }
  req.principal = session.principal;
  req.session = { idHash: session.idHash, csrfToken: session.csrfToken };
  next();
}

export function tokenOf(req: Pick<Request, 'headers' | 'url'>): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  const query = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
  return query || undefined;
}
