import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Me } from '../api/index.js';
import type { AppContext } from '../context.js';
import type { Queryable } from '../db/db.js';
import { TandemError } from '../errors.js';
import { audited } from '../mutations.js';
import type { AuthStore } from './auth.store.js';
import { checkPassword, hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';
import type { Principal } from './principal.js';
import { FailureLimiter } from './rate-limit.js';
import { SessionsStore, type SessionRow } from './sessions.store.js';
import { hashToken } from './tokens.js';

export const SESSION_COOKIE = 'tandem_session';
const WINDOW_MS = 15 * 60_000;
/** Failed sign-ins per name, and per client address (which may try many names), per window. */
const NAME_LIMIT = 10;
const ADDRESS_LIMIT = 30;
/** Consecutive failures that lock an account, and for how long. */
const LOCK_AFTER = 10;
const LOCK_MS = 15 * 60_000;
const CACHE_MS = 5_000;
/** The one answer to a wrong name and a wrong password, so sign-in does not tell which names exist. */
const WRONG = 'wrong user name or password';

/** A valid session as the authenticate middleware sees it. */
export interface ActiveSession {
  idHash: string;
  csrfToken: string;
  principal: Principal;
}

interface Cached {
  row?: SessionRow;
  principal?: Principal;
  until: number;
  revision: number;
}

/** Password sign-in, sessions, and password changes. One per server: `ctx.shared(sessionsService)`. */
export class SessionsService {
  private readonly store: SessionsStore;
  private readonly auth: AuthStore;
  private readonly byName: FailureLimiter;
  private readonly byAddress: FailureLimiter;
  private readonly cache = new Map<string, Cached>();
  private readonly idleMs: number;
  private readonly maxMs: number;
  private readonly passwordSignIn: boolean;
  /** A hash to verify against when the name is unknown, so both cost the same scrypt. */
  private dummyHash?: Promise<string>;

  constructor(
    ctx: Pick<AppContext, 'db' | 'auth' | 'config'>,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new SessionsStore(ctx.db);
    this.auth = ctx.auth;
    this.idleMs = ctx.config.sessionIdleMs;
    this.maxMs = ctx.config.sessionMaxMs;
    this.passwordSignIn = ctx.config.passwordSignIn;
    this.byName = new FailureLimiter(NAME_LIMIT, WINDOW_MS, now);
    this.byAddress = new FailureLimiter(ADDRESS_LIMIT, WINDOW_MS, now);
  }

  /** Signs in with a password; answers the new session's id (the cookie's value) and CSRF token. */
  async signIn(name: string, password: string, address: string): Promise<{ sessionId: string; csrfToken: string; user: Me }> {
    if (!this.passwordSignIn) throw new TandemError('FORBIDDEN', 'password sign-in is off here (TANDEM_AUTH); use single sign-on');
    const nameKey = name.toLowerCase();
    this.throttle(nameKey, address);
    const found = await this.store.credentials(name);
    if (found?.lockedUntil && found.lockedUntil.getTime() > this.now())
      throw tooMany(Math.ceil((found.lockedUntil.getTime() - this.now()) / 1000));
    const ok =
      password.length <= MAX_PASSWORD_LENGTH &&
      (await verifyPassword(password, found?.passwordHash ?? (await this.dummy()))) &&
      !!found?.passwordHash;
    if (!found || !ok) {
      this.byName.fail(nameKey);
      this.byAddress.fail(address);
      if (found) {
        await audited(
          this.store,
          undefined,
          { action: 'user.sign_in_failed', resourceType: 'user', resourceId: found.userId, details: { address } },
          (tx) => this.store.recordFailure(tx, found.userId, LOCK_AFTER, new Date(this.now() + LOCK_MS)),
        );
      }
      throw new TandemError('UNAUTHENTICATED', WRONG);
    }
    // Only someone who knows the password learns that the account is deactivated.
    const principal = await this.auth.principalOf(found.userId);
    if (!principal) throw new TandemError('FORBIDDEN', 'this account is deactivated; ask an admin');
    this.byName.clear(nameKey);
    return this.startSession(principal, { address }, (tx) => this.store.clearFailures(tx, found.userId));
  }

  /**
   * Opens a session for a person who just proved who they are (a password, or an OpenID
   * provider's answer); `alsoInTransaction` commits with it. Answers the cookie's value.
   */
  async startSession(
    principal: Principal,
    details: Record<string, unknown>,
    alsoInTransaction?: (tx: Queryable) => Promise<void>,
  ): Promise<{ sessionId: string; csrfToken: string; user: Me }> {
    const sessionId = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const now = new Date(this.now());
    const row: SessionRow = {
      idHash: hashToken(sessionId),
      userId: principal.id,
      csrfSecret: csrfToken,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.maxMs),
    };
    await audited(
      this.store,
      principal,
      { action: 'user.sign_in', resourceType: 'user', resourceId: principal.id, details },
      async (tx) => {
        await alsoInTransaction?.(tx);
        await this.store.create(tx, row, now);
      },
    );
    return { sessionId, csrfToken, user: meOf(principal) };
  }

  /** Ends the session server-side: its cookie is refused from the next request on. */
  async signOut(who: Principal, idHash: string): Promise<void> {
    await audited(this.store, who, { action: 'user.sign_out', resourceType: 'user', resourceId: who.id }, (tx) =>
      this.store.revoke(tx, idHash),
    );
    this.auth.changed();
  }

  /**
   * The session behind a cookie's value, or undefined when unknown, revoked, idle too long, past
   * its absolute expiry or its user deactivated. Cached briefly like API tokens, and dropped from
   * the cache by any revocation (`auth.revision`).
   */
  async resolve(sessionId: string): Promise<ActiveSession | undefined> {
    const idHash = hashToken(sessionId);
    const now = this.now();
    let hit = this.cache.get(idHash);
    if (!hit || hit.until < now || hit.revision !== this.auth.revision) {
      if (this.cache.size > 10_000) this.cache.clear();
      const revision = this.auth.revision;
      const row = await this.store.find(idHash);
      hit = { row, principal: row && (await this.auth.principalOf(row.userId)), until: now + CACHE_MS, revision };
      this.cache.set(idHash, hit);
    }
    const { row, principal } = hit;
    if (!row || !principal) return undefined;
    if (now >= row.expiresAt.getTime() || now >= row.lastSeenAt.getTime() + this.idleMs) return undefined;
    // At most once a minute (more often only for idle timeouts shorter than four minutes).
    if (now - row.lastSeenAt.getTime() >= Math.min(60_000, this.idleMs / 4)) {
      row.lastSeenAt = new Date(now);
      await this.store.touch(idHash, row.lastSeenAt);
    }
    return { idHash, csrfToken: row.csrfSecret, principal };
  }

  /** Admins set or reset a password: the lockout is lifted and the user's sessions end (but the admin's own current one). */
  async setPassword(admin: Principal, userId: string, password: string, currentIdHash?: string): Promise<void> {
    const user = await this.auth.getUser(userId);
    if (!user) throw new TandemError('NOT_FOUND', `user ${userId} not found`);
    checkPassword(password, user.name);
    const hash = await hashPassword(password);
    await audited(this.store, admin, { action: 'user.password_reset', resourceType: 'user', resourceId: userId }, async (tx) => {
      await this.store.setPassword(tx, userId, hash);
      await this.store.revokeAllOf(tx, userId, userId === admin.id ? currentIdHash : undefined);
    });
    this.byName.clear(user.name.toLowerCase());
    this.auth.changed();
  }

  /** A person changes their own password; their other sessions end. Wrong guesses count like sign-ins. */
  async changePassword(who: Principal, current: string, password: string, address: string, currentIdHash?: string): Promise<void> {
    if (who.tokenKind !== 'user') throw new TandemError('FORBIDDEN', 'only a person’s own token or session can change their password');
    const nameKey = who.name.toLowerCase();
    this.throttle(nameKey, address);
    const stored = await this.store.passwordHashOf(who.id);
    if (!stored || current.length > MAX_PASSWORD_LENGTH || !(await verifyPassword(current, stored))) {
      this.byName.fail(nameKey);
      this.byAddress.fail(address);
      throw new TandemError(
        'FORBIDDEN',
        stored ? 'body.current: wrong password' : 'body.current: you have no password yet; ask an admin to set one',
      );
    }
    checkPassword(password, who.name);
    const hash = await hashPassword(password);
    await audited(this.store, who, { action: 'user.password_change', resourceType: 'user', resourceId: who.id }, async (tx) => {
      await this.store.setPassword(tx, who.id, hash);
      await this.store.revokeAllOf(tx, who.id, currentIdHash);
    });
    this.auth.changed();
  }

  private throttle(nameKey: string, address: string): void {
    const wait = Math.max(this.byName.retryAfter(nameKey), this.byAddress.retryAfter(address));
    if (wait > 0) throw tooMany(wait);
  }

  private dummy(): Promise<string> {
    return (this.dummyHash ??= hashPassword(randomBytes(16).toString('hex')));
  }
}

/** Built once per server (`ctx.shared`): the middleware and the routes share its cache and limits. */
export const sessionsService = (ctx: AppContext): SessionsService => new SessionsService(ctx);

/** Whether a presented CSRF token is the session's, compared in constant time. */
export function csrfMatches(session: ActiveSession, presented: unknown): boolean {
  if (typeof presented !== 'string' || !presented) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(session.csrfToken));
}

/** A principal as `GET /me` answers it. */
export const meOf = (p: Principal): Me => ({ id: p.id, name: p.name, displayName: p.displayName, isAdmin: p.isAdmin, teamIds: p.teamIds });

function tooMany(retryAfterSeconds: number): TandemError {
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return new TandemError(
    'TOO_MANY_REQUESTS',
    `too many failed sign-ins; try again in ${minutes} minute${minutes === 1 ? '' : 's'} or ask an admin to reset the password`,
    {
      details: { retryAfterSeconds },
    },
  );
}
