import { randomUUID } from 'node:crypto';
import type { Role } from '../auth/permissions.js';
import type { Notebook, NotebookVersion } from '../api/index.js';
import type { Db, Queryable } from '../db/db.js';

// The entities are the API contract's (../api); timestamps are read as text.
export type { Notebook, NotebookVersion } from '../api/index.js';

/** What a room loads: the snapshot, then every logged update after it, in order. */
export interface StoredDocument {
  snapshot: Uint8Array;
  updates: Uint8Array[];
  lastSeq: number;
}

const NOTEBOOK_COLUMNS = `id, name, created_by AS "createdBy", created_at::text AS "createdAt", updated_at::text AS "updatedAt"`;
const VERSION_COLUMNS = `id, notebook_id AS "notebookId", name, created_by AS "createdBy", created_at::text AS "createdAt"`;

/** Rows of shared notebooks: metadata, the Yjs snapshot + update log, and named versions. */
const ACCESS_CHANNEL = 'tandem_notebook_access';

export class CollabStore {
  constructor(readonly db: Db) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  /** Writes the notebook and its initial state together: the only place a document is seeded. */
  async create(tx: Queryable, notebook: { name: string; createdBy: string; state: Uint8Array }): Promise<Notebook> {
    const [row] = await tx.query<Notebook>(
      `INSERT INTO notebooks (id, name, created_by) VALUES ($1, $2, $3) RETURNING ${NOTEBOOK_COLUMNS}`,
      [randomUUID(), notebook.name, notebook.createdBy],
    );
    await tx.query('INSERT INTO notebook_snapshots (notebook_id, state, through_seq) VALUES ($1, $2, 0)', [row.id, notebook.state]);
    return row;
  }

  async get(id: string, q: Queryable = this.db): Promise<Notebook | undefined> {
    const [row] = await q.query<Notebook>(`SELECT ${NOTEBOOK_COLUMNS} FROM notebooks WHERE id = $1`, [id]);
    return row;
  }

  /** Notebooks with the caller's role, through `roles` (`Permissions.roleJoin`, alias r, on notebooks.id). */
  async list(roles: { sql: string; params: unknown[] }): Promise<(Notebook & { role: Role })[]> {
    return this.db.query<Notebook & { role: Role }>(
      `SELECT ${NOTEBOOK_COLUMNS}, r.role FROM notebooks ${roles.sql} ORDER BY lower(name), id`,
      roles.params,
    );
  }

  async rename(tx: Queryable, id: string, name: string): Promise<Notebook> {
    const [row] = await tx.query<Notebook>(
      `UPDATE notebooks SET name = $2, updated_at = now() WHERE id = $1 RETURNING ${NOTEBOOK_COLUMNS}`,
      [id, name],
    );
    return row;
  }

  async delete(tx: Queryable, id: string): Promise<void> {
    await tx.query('DELETE FROM notebooks WHERE id = $1', [id]);
  }

  async load(id: string): Promise<StoredDocument | undefined> {
    return this.db.transaction(async (tx) => {
      const [snap] = await tx.query<{ state: Uint8Array; through: number }>(
        'SELECT state, through_seq::float8 AS through FROM notebook_snapshots WHERE notebook_id = $1',
        [id],
      );
      if (!snap) return undefined;
      const rows = await tx.query<{ seq: number; data: Uint8Array }>(
        'SELECT seq::float8 AS seq, data FROM notebook_updates WHERE notebook_id = $1 AND seq > $2 ORDER BY seq',
        [id, snap.through],
      );
      return { snapshot: snap.state, updates: rows.map((r) => r.data), lastSeq: rows.at(-1)?.seq ?? snap.through };
    });
  }

  /** Appends one (merged) update to the log; returns its sequence number. */
  async append(id: string, data: Uint8Array): Promise<number> {
    const [row] = await this.db.query<{ seq: number }>(
      `WITH touched AS (UPDATE notebooks SET updated_at = now() WHERE id = $1)
       INSERT INTO notebook_updates (notebook_id, data) VALUES ($1, $2) RETURNING seq::float8 AS seq`,
      [id, data],
    );
    return row.seq;
  }

  /** Replaces the snapshot with `state` (which covers the log up to `throughSeq`) and drops those entries. */
  async compact(id: string, state: Uint8Array, throughSeq: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('UPDATE notebook_snapshots SET state = $2, through_seq = $3 WHERE notebook_id = $1', [id, state, throughSeq]);
      await tx.query('DELETE FROM notebook_updates WHERE notebook_id = $1 AND seq <= $2', [id, throughSeq]);
    });
  }

  /** How many rows and bytes a document occupies, for watching growth. */
  async footprint(id: string): Promise<{ logEntries: number; bytes: number }> {
    const [row] = await this.db.query<{ logEntries: number; bytes: number }>(
      `SELECT (SELECT count(*)::int FROM notebook_updates WHERE notebook_id = $1) AS "logEntries",
              (SELECT coalesce(sum(octet_length(data)), 0)::float8 FROM notebook_updates WHERE notebook_id = $1)
            + (SELECT coalesce(sum(octet_length(state)), 0)::float8 FROM notebook_snapshots WHERE notebook_id = $1) AS bytes`,
      [id],
    );
    return row;
  }

  async createVersion(
    tx: Queryable,
    version: { notebookId: string; name: string; createdBy: string; state: Uint8Array },
  ): Promise<NotebookVersion> {
    const [row] = await tx.query<NotebookVersion>(
      `INSERT INTO notebook_versions (id, notebook_id, name, state, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${VERSION_COLUMNS}`,
      [randomUUID(), version.notebookId, version.name, version.state, version.createdBy],
    );
    return row;
  }

  async listVersions(notebookId: string): Promise<NotebookVersion[]> {
    return this.db.query<NotebookVersion>(
      `SELECT ${VERSION_COLUMNS} FROM notebook_versions WHERE notebook_id = $1 ORDER BY created_at DESC, id`,
      [notebookId],
    );
  }

  async versionState(notebookId: string, versionId: string): Promise<Uint8Array | undefined> {
    const [row] = await this.db.query<{ state: Uint8Array }>('SELECT state FROM notebook_versions WHERE notebook_id = $1 AND id = $2', [
      notebookId,
      versionId,
    ]);
    return row?.state;
  }

  /** Tells every server of this database (this one too) that access to a notebook changed. */
  async announceAccessChange(origin: string, notebookId: string): Promise<void> {
    await this.db.query('SELECT pg_notify($1, $2)', [ACCESS_CHANNEL, `${origin} ${notebookId}`]);
  }

  /** Hears access changes announced by any server; answers the function that stops. */
  listenForAccessChanges(onChange: (origin: string, notebookId: string) => void): Promise<() => Promise<void>> {
    return this.db.listen(ACCESS_CHANNEL, (payload) => {
      const [origin, notebookId] = payload.split(' ');
      if (origin && notebookId) onChange(origin, notebookId);
    });
  }
}
