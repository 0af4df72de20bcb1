import type { NextFunction, Request, Response } from 'express';
import type { AuthStore } from '../auth/auth.store.js';
import type { Principal } from '../auth/principal.js';
import { TandemError } from '../errors.js';

const CACHE_MS = 5_000;

/**
 * Resolves `Authorization: Bearer <token>` (or `?token=` for links and WebSockets, which cannot
 * set headers) to `req.principal`. Unknown tokens are rejected; no token means anonymous.
 * Lookups are cached briefly: every request would otherwise cost two queries. A revocation or
 * membership change made through this server makes cached lookups stale at once (`auth.revision`).
 */
export function authenticate(auth: AuthStore) {
  const cache = new Map<string, { principal: Principal | undefined; until: number; revision: number }>();
  return async (req: Request, _res: Response, next: NextFunction) => {
    const token = tokenOf(req);
    if (!token) return next();
    const now = Date.now();
    let hit = cache.get(token);
    if (!hit || hit.until < now || hit.revision !== auth.revision) {
      if (cache.size > 10_000) cache.clear();
      // Read before the lookup: a lookup that overlaps a change is stale by the time it answers.
      const revision = auth.revision;
      hit = { principal: await auth.authenticate(token), until: now + CACHE_MS, revision };
      cache.set(token, hit);
    }
    if (!hit.principal) throw new TandemError('UNAUTHENTICATED', 'invalid or revoked API token');
    req.principal = hit.principal;
    next();
  };
}

export function tokenOf(req: Pick<Request, 'headers' | 'url'>): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  const query = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
  return query || undefined;
}
