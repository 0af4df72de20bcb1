import { randomUUID } from 'node:crypto';
import type { Page, Team, TeamWithMembers, TokenInfo as ApiTokenInfo, User as ApiUser } from '../api/index.js';
import { audit } from '../audit.js';
import { PgCode, pgErrorCode, type Db } from '../db/db.js';
import { TOTAL_COLUMN, toPage, type PageRequest } from '../db/paging.js';
import { TandemError } from '../errors.js';
import { audited } from '../mutations.js';
import type { Principal, TokenKind } from './principal.js';
import { generateToken, hashToken } from './tokens.js';

// The entities are the API contract's (../api), with the server's Dates.
export type { Team } from '../api/index.js';
export type User = ApiUser<Date>;
export type TokenInfo = ApiTokenInfo<Date>;

interface UserRow {
  id: string;
  name: string;
  display_name: string;
  is_admin: boolean;
  created_at: Date;
  deactivated_at: Date | null;
}

/**
 * What changed about who may do what: `tokens` for revoked tokens (named by hash), so caches and
 * sockets re-check only those; `all` for anything else (users, teams, sessions).
 */
export type AuthChange = { kind: 'all' } | { kind: 'tokens'; hashes: string[] };
const ALL: AuthChange = { kind: 'all' };
/** Beyond this many hashes one notification says `all`: pg_notify payloads stop at 8000 bytes. */
const MAX_NOTIFIED_HASHES = 50;

const toPrincipal = (r: UserRow, teamIds: string[], tokenKind: TokenKind, jobId?: string | null): Principal => ({
  id: r.id,
  name: r.name,
  displayName: r.display_name,
  isAdmin: r.is_admin,
  teamIds,
  tokenKind,
  ...(jobId ? { jobId } : {}),
});

const toUser = (r: UserRow): User => ({
  id: r.id,
  name: r.name,
  displayName: r.display_name,
  isAdmin: r.is_admin,
  active: r.deactivated_at === null,
  createdAt: r.created_at,
});

const AUTH_CHANNEL = 'tandem_auth';
/** The kind a token row (`t`) acts as: one bound to a session is a kernel's (migrations/006_session_tokens.sql). */
const TOKEN_KIND = `CASE WHEN t.session_id_hash IS NULL THEN t.kind ELSE 'kernel' END`;

/** A LIKE pattern matching `query` anywhere, its wildcards taken literally. */
const containing = (query: string) => `%${query.replace(/[%_\\]/g, '\\$&')}%`;

/** Users, teams and API tokens. */
export class AuthStore {
  /**
   * Bumped whenever what authenticate() answers may have changed for anyone (a user deactivated,
   * team membership changed), so caches of principals drop everything they hold. Revoked tokens
   * do not bump it: listeners hear their hashes (`onChange`) and drop only those.
   */
  revision = 0;
  private readonly listeners = new Set<(change: AuthChange) => void>();
  /** Tells this process's own notifications from other servers' (several may share the database). */
  private readonly origin = randomUUID();

  constructor(private readonly db: Db) {}

  /**
   * Calls `listener` whenever tokens, users or memberships may have changed, here or on another
   * server of the same database, so that open sockets re-check who they belong to.
   */
  onChange(listener: (change: AuthChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hears other servers' changes; answers the function that stops. */
  watch(): Promise<() => Promise<void>> {
    return this.db.listen(AUTH_CHANNEL, (payload) => {
      const [origin, hashes] = payload.split(' ');
      if (origin === this.origin) return;
      this.apply(hashes ? { kind: 'tokens', hashes: hashes.split(',') } : ALL);
    });
  }

  /** Drops cached principals here and on other servers; the sessions service calls it too, after its changes commit. */
  changed(change: AuthChange = ALL): void {
    const notified = change.kind === 'tokens' && change.hashes.length > MAX_NOTIFIED_HASHES ? ALL : change;
    this.apply(notified);
    const payload = notified.kind === 'tokens' ? `${this.origin} ${notified.hashes.join(',')}` : this.origin;
    this.db.query('SELECT pg_notify($1, $2)', [AUTH_CHANNEL, payload]).catch(() => undefined);
  }

  private apply(change: AuthChange): void {
    if (change.kind === 'all') this.revision++;
    for (const listener of this.listeners) listener(change);
  }

  // Account changes are audited here, in their transaction, whoever calls: `by` is the actor.
  async createUser(input: { name: string; displayName?: string; isAdmin?: boolean }, by?: Principal): Promise<User> {
    try {
      const row = await audited(
        this.db,
        by,
        (r: UserRow) => ({ action: 'user.create', resourceType: 'user', resourceId: r.id, details: { name: r.name, isAdmin: r.is_admin } }),
        async (tx) => {
          const [created] = await tx.query<UserRow>(
            'INSERT INTO users (id, name, display_name, is_admin) VALUES ($1, $2, $3, $4) RETURNING *',
            [randomUUID(), input.name, input.displayName ?? input.name, input.isAdmin ?? false],
          );
          return created!;
        },
      );
      return toUser(row);
    } catch (cause) {
      if (pgErrorCode(cause) === PgCode.uniqueViolation) {
        throw new TandemError('ALREADY_EXISTS', `user ${input.name} already exists`, { cause });
      }
      throw cause;
    }
  }

  async getUser(id: string): Promise<User | undefined> {
    const [row] = await this.db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return row && toUser(row);
  }

  async findUserByName(name: string): Promise<User | undefined> {
    const [row] = await this.db.query<UserRow>('SELECT * FROM users WHERE name = $1', [name]);
    return row && toUser(row);
  }

  async searchUsers(query: string, limit = 20): Promise<User[]> {
    const rows = await this.db.query<UserRow>(`SELECT * FROM users WHERE name ILIKE $1 OR display_name ILIKE $1 ORDER BY name LIMIT $2`, [
      containing(query),
      limit,
    ]);
    return rows.map(toUser);
  }

  /** Every account with its state, by name, for admins. */
  async listUsers(query: string, page: PageRequest): Promise<Page<User>> {
    const rows = await this.db.query<UserRow & { total: number }>(
      `SELECT *, ${TOTAL_COLUMN} FROM users WHERE name ILIKE $1 OR display_name ILIKE $1 ORDER BY name LIMIT $2 OFFSET $3`,
      [containing(query), page.limit, page.offset],
    );
    return toPage(
      rows.map((r) => ({ ...toUser(r), total: r.total })),
      page,
    );
  }

  /** Every team with its members, by name, for admins. */
  async listTeams(page: PageRequest): Promise<Page<TeamWithMembers>> {
    const rows = await this.db.query<TeamWithMembers & { total: number }>(
      `SELECT t.id, t.name, ${TOTAL_COLUMN},
         coalesce((SELECT json_agg(json_build_object('id', u.id, 'name', u.name, 'displayName', u.display_name) ORDER BY u.name)
                   FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = t.id), '[]'::json) AS members
       FROM teams t ORDER BY t.name LIMIT $1 OFFSET $2`,
      [page.limit, page.offset],
    );
    return toPage(rows, page);
  }

  async countUsers(): Promise<number> {
    const [row] = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    return row!.n;
  }

  async createTeam(name: string, creatorId: string): Promise<Team> {
    const id = randomUUID();
    try {
      await this.db.transaction(async (tx) => {
        await tx.query('INSERT INTO teams (id, name) VALUES ($1, $2)', [id, name]);
        await tx.query('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)', [id, creatorId]);
        await audit(tx, { actorId: creatorId, action: 'team.create', resourceType: 'team', resourceId: id, details: { name } });
      });
    } catch (cause) {
      if (pgErrorCode(cause) === PgCode.uniqueViolation) {
        throw new TandemError('ALREADY_EXISTS', `team ${name} already exists`, { cause });
      }
      throw cause;
    }
    this.changed();
    return { id, name };
  }

  async getTeam(id: string): Promise<Team | undefined> {
    const [row] = await this.db.query<Team>('SELECT id, name FROM teams WHERE id = $1', [id]);
    return row;
  }

  async findTeamByName(name: string): Promise<Team | undefined> {
    const [row] = await this.db.query<Team>('SELECT id, name FROM teams WHERE name = $1', [name]);
    return row;
  }

  async addMember(teamId: string, userId: string, by?: Principal): Promise<void> {
    // Added by hand, the membership is hand-made from now on: the provider's groups no longer remove it.
    await audited(this.db, by, { action: 'team.member.add', resourceType: 'team', resourceId: teamId, details: { userId } }, (tx) =>
      tx.query(
        `INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT (team_id, user_id) DO UPDATE SET source = 'manual'`,
        [teamId, userId],
      ),
    );
    this.changed();
  }

  /** The user as a principal acting for themselves (jobs, schedules); undefined when gone or deactivated. */
  async principalOf(userId: string): Promise<Principal | undefined> {
    const [row] = await this.db.query<UserRow>('SELECT * FROM users WHERE id = $1 AND deactivated_at IS NULL', [userId]);
    return row && toPrincipal(row, await this.teamIdsOf(row.id), 'user');
  }

  async teamIdsOf(userId: string): Promise<string[]> {
    const rows = await this.db.query<{ team_id: string }>('SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id', [userId]);
    return rows.map((r) => r.team_id);
  }

  /** Creates a token; the plain value is returned once and never stored. */
  async createToken(userId: string, name: string, kind: TokenKind = 'user', by?: Principal): Promise<{ id: string; token: string }> {
    const token = generateToken();
    const id = randomUUID();
    await audited(this.db, by, { action: 'token.create', resourceType: 'token', resourceId: id, details: { userId, name, kind } }, (tx) =>
      tx.query('INSERT INTO api_tokens (id, user_id, name, kind, token_hash) VALUES ($1, $2, $3, $4, $5)', [
        id,
        userId,
        name,
        kind,
        hashToken(token),
      ]),
    );
    return { id, token };
  }

  /**
   * A token a job acts with as its submitter: it expires after `ttlMs` and is revoked when the
   * job ends (`revokeJobTokens`). It cannot mint other tokens or use admin routes.
   */
  async createJobToken(userId: string, jobId: string, ttlMs: number): Promise<string> {
    const token = generateToken();
    await this.db.query(
      `INSERT INTO api_tokens (id, user_id, name, kind, token_hash, job_id, expires_at)
       VALUES ($1, $2, $3, 'job', $4, $5, now() + make_interval(secs => $6))`,
      [randomUUID(), userId, `job ${jobId}`, hashToken(token), jobId, ttlMs / 1000],
    );
    return token;
  }

  async revokeJobTokens(jobId: string): Promise<void> {
    const rows = await this.db.query<{ token_hash: string }>(
      `UPDATE api_tokens SET revoked_at = now() WHERE job_id = $1 AND revoked_at IS NULL RETURNING token_hash`,
      [jobId],
    );
    if (rows.length > 0) this.changed({ kind: 'tokens', hashes: rows.map((r) => r.token_hash) });
  }

  /** Registers a token whose value the caller already has (local mode keeps it in a file). */
  async adoptToken(userId: string, name: string, token: string): Promise<void> {
    await this.db.query(
      `INSERT INTO api_tokens (id, user_id, name, token_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (token_hash) DO NOTHING`,
      [randomUUID(), userId, name, hashToken(token)],
    );
  }

  /** A user's tokens, newest first; the values themselves are never kept. */
  async listTokens(userId: string): Promise<TokenInfo[]> {
    // A kernel token ends with its session, so the session's revocation is the token's.
    return this.db.query<TokenInfo>(
      `SELECT t.id, t.name, ${TOKEN_KIND} AS kind, t.created_at AS "createdAt", t.last_used_at AS "lastUsedAt",
         coalesce(t.revoked_at, s.revoked_at) AS "revokedAt"
       FROM api_tokens t LEFT JOIN sessions s ON s.id_hash = t.session_id_hash
       WHERE t.user_id = $1 ORDER BY t.created_at DESC, t.id`,
      [userId],
    );
  }

  /**
   * A kernel token: the signed-in person's, bound to their browser session `sessionIdHash`. It
   * works only while that session does (see authenticate), and expires with it at the latest. A
   * kernel runs unattended (a long training loop), so the browser's idle timeout does not end it.
   */
  async createKernelToken(by: Principal, sessionIdHash: string, name: string): Promise<{ id: string; token: string; expiresAt: Date }> {
    const token = generateToken();
    const id = randomUUID();
    const [row] = await audited(
      this.db,
      by,
      { action: 'token.create', resourceType: 'token', resourceId: id, details: { userId: by.id, name, kind: 'kernel' } },
      (tx) =>
        tx.query<{ expires_at: Date }>(
          `INSERT INTO api_tokens (id, user_id, name, kind, token_hash, session_id_hash, expires_at)
           SELECT $1, user_id, $2, 'user', $3, id_hash, expires_at FROM sessions
           WHERE id_hash = $4 AND user_id = $5 AND revoked_at IS NULL AND expires_at > now()
           RETURNING expires_at`,
          [id, name, hashToken(token), sessionIdHash, by.id],
        ),
    );
    if (!row) throw new TandemError('UNAUTHENTICATED', 'the session has ended: sign in again');
    return { id, token, expiresAt: row.expires_at };
  }

  async revokeToken(userId: string, tokenId: string, by?: Principal): Promise<void> {
    const rows = await audited(
      this.db,
      by,
      { action: 'token.revoke', resourceType: 'token', resourceId: tokenId, details: { userId } },
      async (tx) => {
        const revoked = await tx.query<{ token_hash: string }>(
          'UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING token_hash',
          [tokenId, userId],
        );
        if (revoked.length === 0) throw new TandemError('NOT_FOUND', `token ${tokenId} not found`);
        return revoked;
      },
    );
    this.changed({ kind: 'tokens', hashes: rows.map((r) => r.token_hash) });
  }

  /**
   * Deactivated users keep what they made, but none of their tokens works any more, and their
   * sessions end (reactivating does not bring those back).
   */
  async setActive(userId: string, active: boolean, by?: Principal): Promise<User> {
    const entry = { action: active ? 'user.reactivate' : 'user.deactivate', resourceType: 'user', resourceId: userId };
    const row = await audited(this.db, by, entry, async (tx) => {
      const [updated] = await tx.query<UserRow>(
        `UPDATE users SET deactivated_at = CASE WHEN $2 THEN NULL ELSE coalesce(deactivated_at, now()) END WHERE id = $1 RETURNING *`,
        [userId, active],
      );
      if (!updated) throw new TandemError('NOT_FOUND', `user ${userId} not found`);
      if (!active) await tx.query('UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
      return updated;
    });
    this.changed();
    return toUser(row);
  }

  /** Makes a user an admin or not; their tokens and sessions carry the change from the next request. */
  async setAdmin(userId: string, isAdmin: boolean, by: Principal): Promise<User> {
    const entry = { action: isAdmin ? 'user.admin.grant' : 'user.admin.revoke', resourceType: 'user', resourceId: userId };
    const row = await audited(this.db, by, entry, async (tx) => {
      const [updated] = await tx.query<UserRow>('UPDATE users SET is_admin = $2 WHERE id = $1 RETURNING *', [userId, isAdmin]);
      if (!updated) throw new TandemError('NOT_FOUND', `user ${userId} not found`);
      return updated;
    });
    this.changed();
    return toUser(row);
  }

  async removeMember(teamId: string, userId: string, by?: Principal): Promise<void> {
    await audited(
      this.db,
      by,
      { action: 'team.member.remove', resourceType: 'team', resourceId: teamId, details: { userId } },
      async (tx) => {
        const rows = await tx.query('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2 RETURNING user_id', [teamId, userId]);
        if (rows.length === 0) throw new TandemError('NOT_FOUND', `user ${userId} is not a member of team ${teamId}`);
      },
    );
    this.changed();
  }

  /** Deletes the team, its memberships and every grant made to it. */
  async deleteTeam(teamId: string, by?: Principal): Promise<void> {
    const entry = (name: string) => ({ action: 'team.delete', resourceType: 'team', resourceId: teamId, details: { name } });
    await audited(this.db, by, entry, async (tx) => {
      await tx.query(`DELETE FROM grants WHERE principal_type = 'team' AND principal_id = $1`, [teamId]);
      const [row] = await tx.query<{ name: string }>('DELETE FROM teams WHERE id = $1 RETURNING name', [teamId]);
      if (!row) throw new TandemError('NOT_FOUND', `team ${teamId} not found`);
      return row.name;
    });
    this.changed();
  }

  /** Resolves a presented token to its principal, or undefined when unknown, revoked or its user deactivated. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const [row] = await this.db.query<UserRow & { kind: TokenKind; token_job_id: string | null }>(
      `SELECT u.*, ${TOKEN_KIND} AS kind, t.job_id AS token_job_id FROM api_tokens t JOIN users u ON u.id = t.user_id
       LEFT JOIN sessions s ON s.id_hash = t.session_id_hash
       WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.deactivated_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
         AND (t.session_id_hash IS NULL OR (s.revoked_at IS NULL AND s.expires_at > now()))`,
      [hashToken(token)],
    );
    if (!row) return undefined;
    // Shown in token lists so that unused tokens can be found and revoked; a minute is precise enough.
    await this.db.query(
      `UPDATE api_tokens SET last_used_at = now()
       WHERE token_hash = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [hashToken(token)],
    );
    return toPrincipal(row, await this.teamIdsOf(row.id), row.kind, row.token_job_id);
  }
}
