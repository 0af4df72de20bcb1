import { randomUUID, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import { audit } from '../audit.js';
import type { OidcConfig } from '../config.js';
import type { AppContext } from '../context.js';
import { PgCode, pgErrorCode, type Queryable } from '../db/db.js';
import { TandemError } from '../errors.js';
import { OidcStore, type LinkedUser } from './oidc.store.js';
import { FailureLimiter } from './rate-limit.js';
import type { SessionsService } from './sessions.service.js';
import { hashToken } from './tokens.js';

/** How long a person may take at the provider before the sign-in must start again. */
export const PENDING_MS = 10 * 60_000;
/** Sign-ins one client address may start per window: each keeps a row until it expires. */
const STARTS_PER_ADDRESS = 100;
const MAX_GROUPS = 1000;
const MAX_TEAM_NAME = 200;
const MAX_DISPLAY_NAME = 200;
/** Room for a `-<n>` suffix within the 63 characters user names may have. */
const MAX_NAME_BASE = 56;

type Claims = Record<string, client.JsonValue | undefined>;

/** Who the provider says the person is, in Tandem's terms. */
export interface Profile {
  subject: string;
  /** The user name a new user gets, before any suffix that keeps it unique. */
  nameBase: string;
  displayName: string;
  /** Undefined when no admin claim is configured: sign-in then leaves admin as it is. */
  isAdmin?: boolean;
  /** Undefined when no groups claim is configured: sign-in then leaves memberships as they are. */
  groups?: string[];
}

/**
 * OpenID Connect sign-in (authorization code + PKCE + state + nonce) that ends in an ordinary
 * Tandem session. The provider is discovered on first use, and again after a failed discovery.
 */
export class OidcService {
  private readonly store: OidcStore;
  private readonly starts: FailureLimiter;
  private discovered?: Promise<client.Configuration>;

  constructor(
    private readonly ctx: Pick<AppContext, 'db' | 'auth' | 'log'>,
    private readonly oidc: OidcConfig,
    private readonly sessions: SessionsService,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new OidcStore(ctx.db);
    // FailureLimiter counts any event per key in a window; here, sign-ins started.
    this.starts = new FailureLimiter(STARTS_PER_ADDRESS, PENDING_MS, now);
  }

  /** Starts a sign-in: answers the provider's URL to send the browser to, and the state its cookie keeps. */
  async start(next: string, redirectUri: string, address: string): Promise<{ url: string; state: string }> {
    const wait = this.starts.retryAfter(address);
    if (wait > 0) {
      throw new TandemError('TOO_MANY_REQUESTS', 'too many sign-ins started from this address; try again later', {
        details: { retryAfterSeconds: wait },
      });
    }
    const config = await this.configuration();
    this.starts.fail(address);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const now = new Date(this.now());
    await this.store.savePending(
      { stateHash: hashToken(state), codeVerifier, nonce, redirectUri, next, expiresAt: new Date(now.getTime() + PENDING_MS) },
      now,
    );
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.oidc.scopes,
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, state };
  }

  /**
   * Completes a sign-in from the provider's answer (the callback's query) and the state the
   * browser's cookie kept. Every refusal is a 4xx TandemError whose message the page shows.
   */
  async finish(cookieState: string | undefined, answer: URLSearchParams, address: string): Promise<{ sessionId: string; next: string }> {
    if (!cookieState) {
      throw new TandemError(
        'INVALID_ARGUMENT',
        'this sign-in was not started in this browser, or took longer than 10 minutes; sign in again',
      );
    }
    if (!sameString(answer.get('state') ?? '', cookieState)) {
      throw new TandemError(
        'INVALID_ARGUMENT',
        'the provider’s answer is not for the sign-in this browser started (state mismatch); sign in again',
      );
    }
    const pending = await this.store.takePending(hashToken(cookieState), new Date(this.now()));
    if (!pending) throw new TandemError('INVALID_ARGUMENT', 'this sign-in was already used or has expired; sign in again');
    const config = await this.configuration();
    const claims = await this.provider(async () => {
      const callback = new URL(pending.redirectUri);
      callback.search = answer.toString();
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: cookieState,
        expectedNonce: pending.nonce,
      });
      const idToken = tokens.claims()!;
      // Providers put the profile in the ID token, the UserInfo answer, or both.
      const userInfo = config.serverMetadata().userinfo_endpoint
        ? await client.fetchUserInfo(config, tokens.access_token, idToken.sub)
        : {};
      return { ...idToken, ...userInfo } as Claims;
    });
    const userId = await this.provision(profileOf(claims, this.oidc));
    const principal = await this.ctx.auth.principalOf(userId);
    if (!principal) throw new TandemError('FORBIDDEN', 'this account is deactivated; ask an admin');
    const { sessionId } = await this.sessions.startSession(principal, { address, method: 'oidc', issuer: this.oidc.issuer });
    return { sessionId, next: pending.next };
  }

  /**
   * Creates the user of a first sign-in, or updates the linked one, in one transaction with its
   * audit entry. Concurrent first sign-ins may collide on a name or the identity: then again.
   */
  private async provision(profile: Profile): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { userId, changed } = await this.store.transaction((tx) => this.provisionIn(tx, profile));
        if (changed) this.ctx.auth.changed();
        return userId;
      } catch (error) {
        if (pgErrorCode(error) !== PgCode.uniqueViolation || attempt === 3) throw error;
      }
    }
  }

  private async provisionIn(tx: Queryable, profile: Profile): Promise<{ userId: string; changed: boolean }> {
    const { issuer } = this.oidc;
    const linked = await this.store.linkedUser(tx, issuer, profile.subject);
    // Deactivated is final here: nothing about the account changes.
    if (linked && !linked.active) throw new TandemError('FORBIDDEN', 'this account is deactivated; ask an admin');
    const changes: Record<string, unknown> = {};
    let userId: string;
    if (linked) {
      userId = linked.userId;
      const updated: LinkedUser = { ...linked, displayName: profile.displayName, isAdmin: profile.isAdmin ?? linked.isAdmin };
      if (updated.displayName !== linked.displayName) changes.displayName = updated.displayName;
      if (updated.isAdmin !== linked.isAdmin) changes.isAdmin = updated.isAdmin;
      await this.store.updateLinkedUser(tx, issuer, profile.subject, updated);
    } else {
      userId = randomUUID();
      const user = {
        id: userId,
        name: freeName(profile.nameBase, await this.store.namesLike(tx, profile.nameBase)),
        displayName: profile.displayName,
        isAdmin: profile.isAdmin ?? false,
      };
      Object.assign(changes, { name: user.name, displayName: user.displayName, isAdmin: user.isAdmin });
      await this.store.createLinkedUser(tx, user, issuer, profile.subject);
    }
    if (profile.groups) {
      const teams = await this.store.syncTeams(tx, userId, profile.groups);
      if (teams.created.length > 0) changes.teamsCreated = teams.created;
      if (teams.joined.length > 0) changes.teamsJoined = teams.joined;
      if (teams.left.length > 0) changes.teamsLeft = teams.left;
    }
    const changed = Object.keys(changes).length > 0;
    if (changed) {
      await audit(tx, {
        actorId: userId,
        action: linked ? 'user.sso_update' : 'user.sso_create',
        resourceType: 'user',
        resourceId: userId,
        details: { issuer, subject: profile.subject, ...changes },
      });
    }
    return { userId, changed };
  }

  /** The provider's metadata, discovered once; a failed discovery is a 503 that names TANDEM_OIDC_ISSUER, and is tried again next time. */
  private configuration(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret, name } = this.oidc;
    this.discovered ??= client
      .discovery(
        new URL(issuer),
        clientId,
        clientSecret,
        // Basic is the method every provider must support (RFC 6749 §2.3.1).
        clientSecret ? client.ClientSecretBasic(clientSecret) : client.None(),
        // config.ts allows http only for a provider on this machine.
        { execute: issuer.startsWith('http:') ? [client.allowInsecureRequests] : [], timeout: 10 },
      )
      .catch((error: unknown) => {
        this.discovered = undefined;
        const message = `${name} is unavailable: discovery at ${issuer} failed (${describe(error)}); check TANDEM_OIDC_ISSUER`;
        this.ctx.log.warn(message);
        throw new TandemError('UNAVAILABLE', message, { cause: error });
      });
    return this.discovered;
  }

  /** Runs a conversation with the provider after discovery; what it refuses is a 400, what fails to answer a 503. */
  private async provider<T>(talk: () => Promise<T>): Promise<T> {
    try {
      return await talk();
    } catch (error) {
      const { name, issuer } = this.oidc;
      if (error instanceof client.AuthorizationResponseError || error instanceof client.ResponseBodyError) {
        const description = error.error_description ? ` (${error.error_description})` : '';
        throw new TandemError('INVALID_ARGUMENT', `${name} refused the sign-in: ${error.error}${description}; sign in again`, {
          cause: error,
        });
      }
      if (error instanceof client.ClientError) {
        throw new TandemError('INVALID_ARGUMENT', `the answer from ${name} failed a check: ${describe(error)}; sign in again`, {
          cause: error,
        });
      }
      this.ctx.log.warn('the OpenID provider could not be reached', { issuer, error: describe(error) });
      throw new TandemError('UNAVAILABLE', `${name} could not be reached; try again later`, { cause: error });
    }
  }
}

/** An error's message with its cause's (fetch says only "fetch failed" and keeps the reason in its cause). */
function describe(error: unknown): string {
  const { message, cause } = error as { message?: string; cause?: { message?: string } };
  return [message, cause?.message].filter(Boolean).join(': ') || String(error);
}

/**
 * The rules from claims to a Tandem user:
 * - identity: `sub` (with the configured issuer), never the email or the name;
 * - user name (first sign-in only, then kept): `preferred_username`, else `email`, else `sub`; the
 *   part before any `@`, lower-cased, accents dropped, every run of other characters than
 *   a-z 0-9 . _ - made one `-`, leading punctuation dropped, at most 56 characters (`user` if
 *   nothing is left); see `freeName` for collisions;
 * - display name (every sign-in): `name`, else `given_name family_name`, else the user name's source;
 * - admin (every sign-in, only when TANDEM_OIDC_ADMIN_CLAIM is set): see `isAdminClaim`;
 * - groups (every sign-in, only when TANDEM_OIDC_GROUPS_CLAIM is set): see `groupsOf`.
 * Claim names are looked up as given, else as a dotted path (`realm_access.roles`).
 */
export function profileOf(claims: Claims, oidc: Pick<OidcConfig, 'groupsClaim' | 'adminClaim' | 'adminValue'>): Profile {
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
  const subject = String(claims.sub);
  const source = text(claims.preferred_username) ?? text(claims.email) ?? subject;
  const fullName = [text(claims.given_name), text(claims.family_name)].filter(Boolean).join(' ');
  return {
    subject,
    nameBase: nameBaseOf(source),
    displayName: (text(claims.name) ?? (fullName || source)).slice(0, MAX_DISPLAY_NAME),
    isAdmin: oidc.adminClaim ? isAdminClaim(claimAt(claims, oidc.adminClaim), oidc.adminValue) : undefined,
    groups: oidc.groupsClaim ? groupsOf(claimAt(claims, oidc.groupsClaim)) : undefined,
  };
}

export function nameBaseOf(source: string): string {
  const base = source
    .split('@')[0]!
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, MAX_NAME_BASE)
    .replace(/[._-]+$/, '');
  return base || 'user';
}

/**
 * A new user's name: the base, or if any user already has it (compared without case: password
 * users, the bootstrap `admin`, other SSO users) the first free `base-2`, `base-3`, …
 */
export function freeName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  let n = 2;
  while (taken.has(`${base}-${n}`)) n++;
  return `${base}-${n}`;
}

/**
 * Admin when the claim is `true` (boolean or "true") and no TANDEM_OIDC_ADMIN_VALUE is set; with
 * one, when the claim equals it or is a list holding it. Anything else, absent included, is not admin.
 */
export function isAdminClaim(value: unknown, adminValue: string | undefined): boolean {
  if (adminValue === undefined) return value === true || value === 'true';
  return value === adminValue || (Array.isArray(value) && value.includes(adminValue));
}

/**
 * Team names from the groups claim: a list of strings (or one string), each trimmed, as given
 * otherwise (`/engineering` stays so); empty ones, non-strings and names over 200 characters
 * are skipped. An absent claim means no groups, so the provider-made memberships all end.
 */
export function groupsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const names = list.filter((g): g is string => typeof g === 'string').map((g) => g.trim());
  return [...new Set(names.filter((g) => g && g.length <= MAX_TEAM_NAME))].slice(0, MAX_GROUPS);
}

function claimAt(claims: Claims, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const key of name.split('.')) {
    value = value && typeof value === 'object' && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

function sameString(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
