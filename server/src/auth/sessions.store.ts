import type { Db, Queryable } from '../db/db.js';

/** What sign-in needs to know about a user name. */
export interface Credentials {
  userId: string;
  name: string;
  passwordHash: string | null;
  lockedUntil: Date | null;
  active: boolean;
}

export interface SessionRow {
  idHash: string;
  userId: string;
  csrfSecret: string;
  lastSeenAt: Date;
  expiresAt: Date;
}

/** Passwords, lockouts and browser sessions (only sha256 of session ids are stored). */
export class SessionsStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  async credentials(name: string): Promise<Credentials | undefined> {
    const [row] = await this.db.query<Credentials>(
      `SELECT id AS "userId", name, password_hash AS "passwordHash", locked_until AS "lockedUntil", deactivated_at IS NULL AS active
       FROM users WHERE name = $1`,
      [name],
    );
    return row;
  }

  async passwordHashOf(userId: string): Promise<string | null> {
    const [row] = await this.db.query<{ password_hash: string | null }>('SELECT password_hash FROM users WHERE id = $1', [userId]);
    return row?.password_hash ?? null;
  }

  /** Sets the hash and clears any lockout; false when there is no such user. */
  async setPassword(tx: Queryable, userId: string, hash: string): Promise<boolean> {
    const rows = await tx.query(
      'UPDATE users SET password_hash = $2, failed_sign_ins = 0, locked_until = NULL WHERE id = $1 RETURNING id',
      [userId, hash],
    );
    return rows.length > 0;
  }

  /** Counts a failed sign-in; the `lockAfter`-th in a row locks the account until `lockUntil` and starts the count again. */
  async recordFailure(tx: Queryable, userId: string, lockAfter: number, lockUntil: Date): Promise<void> {
    await tx.query(
      `UPDATE users SET
         locked_until = CASE WHEN failed_sign_ins + 1 >= $2 THEN $3 ELSE locked_until END,
         failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= $2 THEN 0 ELSE failed_sign_ins + 1 END
       WHERE id = $1`,
      [userId, lockAfter, lockUntil],
    );
  }

  async clearFailures(tx: Queryable, userId: string): Promise<void> {
    await tx.query(
      'UPDATE users SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1 AND (failed_sign_ins > 0 OR locked_until IS NOT NULL)',
      [userId],
    );
  }

  /** Starts a session; the user's ended ones are dropped here, so the table stays bounded. */
  async create(tx: Queryable, session: SessionRow, now: Date): Promise<void> {
    await tx.query('DELETE FROM sessions WHERE user_id = $1 AND (revoked_at IS NOT NULL OR expires_at < $2)', [session.userId, now]);
    await tx.query(
      `INSERT INTO sessions (id_hash, user_id, csrf_secret, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)`,
      [session.idHash, session.userId, session.csrfSecret, now, session.expiresAt],
    );
  }

  /** The session unless revoked; expiry is the caller's to judge against its clock. */
  async find(idHash: string): Promise<SessionRow | undefined> {
    const [row] = await this.db.query<SessionRow>(
      `SELECT id_hash AS "idHash", user_id AS "userId", csrf_secret AS "csrfSecret", last_seen_at AS "lastSeenAt", expires_at AS "expiresAt"
       FROM sessions WHERE id_hash = $1 AND revoked_at IS NULL`,
      [idHash],
    );
    return row;
  }

  async touch(idHash: string, at: Date): Promise<void> {
    await this.db.query('UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2', [idHash, at]);
  }

  /** Ends one session; false when it had already ended. */
  async revoke(tx: Queryable, idHash: string): Promise<boolean> {
    const rows = await tx.query('UPDATE sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL RETURNING id_hash', [
      idHash,
    ]);
    return rows.length > 0;
  }

  /** Ends every session of the user but `keepIdHash`; answers how many ended. */
  async revokeAllOf(tx: Queryable, userId: string, keepIdHash?: string): Promise<number> {
    const rows = await tx.query(
      `UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND id_hash IS DISTINCT FROM $2 RETURNING id_hash`,
      [userId, keepIdHash ?? null],
    );
    return rows.length;
  }
}
