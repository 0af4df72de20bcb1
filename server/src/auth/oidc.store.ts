import type { Db, Queryable } from '../db/db.js';

/** A sign-in between the redirect to the provider and its callback. */
export interface PendingLogin {
  stateHash: string;
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
  next: string;
  expiresAt: Date;
}

/** The Tandem user an OpenID identity signs in as. */
export interface LinkedUser {
  userId: string;
  displayName: string;
  isAdmin: boolean;
  active: boolean;
}

/** OpenID identities, the sign-ins in flight, and the team memberships the provider's groups make. */
export class OidcStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  /** Keeps a new pending sign-in; expired ones are dropped here, so the table stays bounded. */
  async savePending(login: PendingLogin, now: Date): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM oidc_logins WHERE expires_at < $1', [now]);
      await tx.query(
        `INSERT INTO oidc_logins (state_hash, code_verifier, nonce, redirect_uri, next, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
        [login.stateHash, login.codeVerifier, login.nonce, login.redirectUri, login.next, login.expiresAt],
      );
    });
  }

  /** Takes a pending sign-in out, so that it is used once; undefined when unknown, used or expired. */
  async takePending(stateHash: string, now: Date): Promise<PendingLogin | undefined> {
    const [row] = await this.db.query<PendingLogin>(
      `DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING state_hash AS "stateHash", code_verifier AS "codeVerifier", nonce,
         redirect_uri AS "redirectUri", next, expires_at AS "expiresAt"`,
      [stateHash],
    );
    return row && row.expiresAt > now ? row : undefined;
  }

  /** The user linked to (issuer, subject), locked until the transaction ends so concurrent sign-ins queue. */
  async linkedUser(tx: Queryable, issuer: string, subject: string): Promise<LinkedUser | undefined> {
    const [row] = await tx.query<LinkedUser>(
      `SELECT u.id AS "userId", u.display_name AS "displayName", u.is_admin AS "isAdmin", u.deactivated_at IS NULL AS active
       FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.issuer = $1 AND i.subject = $2 FOR UPDATE OF i`,
      [issuer, subject],
    );
    return row;
  }

  /** Lower-cased names equal to `base` or `base-<anything>`: the candidates a new name must avoid. */
  async namesLike(tx: Queryable, base: string): Promise<Set<string>> {
    const rows = await tx.query<{ name: string }>(`SELECT lower(name) AS name FROM users WHERE lower(name) = $1 OR lower(name) LIKE $2`, [
      base,
      `${base.replace(/[\\%_]/g, '\\$&')}-%`,
    ]);
    return new Set(rows.map((r) => r.name));
  }

  async createLinkedUser(
    tx: Queryable,
    user: { id: string; name: string; displayName: string; isAdmin: boolean },
    issuer: string,
    subject: string,
  ): Promise<void> {
    await tx.query('INSERT INTO users (id, name, display_name, is_admin) VALUES ($1, $2, $3, $4)', [
      user.id,
      user.name,
      user.displayName,
      user.isAdmin,
    ]);
    await tx.query('INSERT INTO user_identities (issuer, subject, user_id) VALUES ($1, $2, $3)', [issuer, subject, user.id]);
  }

  async updateLinkedUser(tx: Queryable, issuer: string, subject: string, user: LinkedUser): Promise<void> {
    await tx.query('UPDATE users SET display_name = $2, is_admin = $3 WHERE id = $1', [user.userId, user.displayName, user.isAdmin]);
    await tx.query('UPDATE user_identities SET last_sign_in_at = now() WHERE issuer = $1 AND subject = $2', [issuer, subject]);
  }

  /**
   * Makes the user's provider-made memberships exactly `teamNames`, creating missing teams.
   * Hand-made memberships are neither removed nor re-marked. Answers the teams made, joined and left.
   */
  async syncTeams(tx: Queryable, userId: string, teamNames: string[]): Promise<{ created: string[]; joined: string[]; left: string[] }> {
    const created = await tx.query<{ name: string }>(
      `INSERT INTO teams (id, name) SELECT gen_random_uuid()::text, n FROM unnest($1::text[]) AS n ON CONFLICT (name) DO NOTHING RETURNING name`,
      [teamNames],
    );
    const joined = await tx.query<{ name: string }>(
      `WITH added AS (
         INSERT INTO team_members (team_id, user_id, source) SELECT id, $2, 'oidc' FROM teams WHERE name = ANY($1::text[])
         ON CONFLICT (team_id, user_id) DO NOTHING RETURNING team_id)
       SELECT t.name FROM added JOIN teams t ON t.id = added.team_id`,
      [teamNames, userId],
    );
    const left = await tx.query<{ name: string }>(
      `WITH removed AS (
         DELETE FROM team_members m USING teams t
         WHERE m.team_id = t.id AND m.user_id = $2 AND m.source = 'oidc' AND NOT (t.name = ANY($1::text[])) RETURNING m.team_id)
       SELECT t.name FROM removed JOIN teams t ON t.id = removed.team_id`,
      [teamNames, userId],
    );
    const names = (rows: { name: string }[]) => rows.map((r) => r.name).sort();
    return { created: names(created), joined: names(joined), left: names(left) };
  }
}
