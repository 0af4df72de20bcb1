import { randomUUID } from 'node:crypto';
import { PgCode, pgErrorCode, type Db } from '../db/db.js';
import { TandemError } from '../errors.js';
import type { Principal, TokenKind } from './principal.js';
import { generateToken, hashToken } from './tokens.js';

export interface User {
  id: string;
  name: string;
  displayName: string;
  isAdmin: boolean;
  createdAt: Date;
}

export interface Team {
  id: string;
  name: string;
}

interface UserRow {
  id: string;
  name: string;
  display_name: string;
  is_admin: boolean;
  created_at: Date;
}

const toUser = (r: UserRow): User => ({
  id: r.id,
  name: r.name,
  displayName: r.display_name,
  isAdmin: r.is_admin,
  createdAt: r.created_at,
});

/** Users, teams and API tokens. */
export class AuthStore {
  /**
   * Bumped whenever what authenticate() answers may have changed here (a token revoked, team
   * membership changed), so caches of principals (http/authenticate.ts) drop what they hold.
   */
  revision = 0;

  constructor(private readonly db: Db) {}

  async createUser(input: { name: string; displayName?: string; isAdmin?: boolean }): Promise<User> {
    try {
      const [row] = await this.db.query<UserRow>(
        'INSERT INTO users (id, name, display_name, is_admin) VALUES ($1, $2, $3, $4) RETURNING *',
        [randomUUID(), input.name, input.displayName ?? input.name, input.isAdmin ?? false],
      );
      return toUser(row!);
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
      `%${query.replace(/[%_\\]/g, '\\$&')}%`,
      limit,
    ]);
    return rows.map(toUser);
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
      });
    } catch (cause) {
      if (pgErrorCode(cause) === PgCode.uniqueViolation) {
        throw new TandemError('ALREADY_EXISTS', `team ${name} already exists`, { cause });
      }
      throw cause;
    }
    this.revision++;
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

  async addMember(teamId: string, userId: string): Promise<void> {
    await this.db.query('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [teamId, userId]);
    this.revision++;
  }

  async teamIdsOf(userId: string): Promise<string[]> {
    const rows = await this.db.query<{ team_id: string }>('SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id', [userId]);
    return rows.map((r) => r.team_id);
  }

  /** Creates a token; the plain value is returned once and never stored. */
  async createToken(userId: string, name: string, kind: TokenKind = 'user'): Promise<{ id: string; token: string }> {
    const token = generateToken();
    const id = randomUUID();
    await this.db.query('INSERT INTO api_tokens (id, user_id, name, kind, token_hash) VALUES ($1, $2, $3, $4, $5)', [
      id,
      userId,
      name,
      kind,
      hashToken(token),
    ]);
    return { id, token };
  }

  /** Registers a token whose value the caller already has (local mode keeps it in a file). */
  async adoptToken(userId: string, name: string, token: string): Promise<void> {
    await this.db.query(
      `INSERT INTO api_tokens (id, user_id, name, token_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (token_hash) DO NOTHING`,
      [randomUUID(), userId, name, hashToken(token)],
    );
  }

  async revokeToken(userId: string, tokenId: string): Promise<void> {
    const rows = await this.db.query(
      'UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id',
      [tokenId, userId],
    );
    if (rows.length === 0) throw new TandemError('NOT_FOUND', `token ${tokenId} not found`);
    this.revision++;
  }

  /** Resolves a presented token to its principal, or undefined when unknown or revoked. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const [row] = await this.db.query<UserRow & { kind: TokenKind }>(
      `SELECT u.*, t.kind FROM api_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
      [hashToken(token)],
    );
    if (!row) return undefined;
    return {
      id: row.id,
      name: row.name,
      displayName: row.display_name,
      isAdmin: row.is_admin,
      teamIds: await this.teamIdsOf(row.id),
      tokenKind: row.kind,
    };
  }
}
