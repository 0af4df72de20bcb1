import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.js';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { openPostgres } from '../../src/db/postgres.js';
import { createPostgresDatabase } from '../support/backends.js';

// 052 gives versions a run column; lineage.run was free text before (a run id, or once a job's attempt number).
describe('migration 052_model_version_runs on versions made before it', () => {
  let db: Db;
  let drop: () => Promise<void>;
  let before: string;
  const RUN = 'ab'.repeat(16);
  const version = async (id: string) =>
    (await db.query<{ run_id: string | null; lineage: object }>('SELECT run_id, lineage FROM model_versions WHERE id = $1', [id]))[0];

  beforeAll(async () => {
    const database = await createPostgresDatabase();
    db = await openPostgres(database.url);
    drop = database.drop;
    before = await mkdtemp(path.join(os.tmpdir(), 'tandem-migrations-'));
    for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f < '052')) {
      await symlink(path.join(MIGRATIONS_DIR, file), path.join(before, file));
    }
    await migrate(db, before);
    await db.query(`INSERT INTO users (id, name, display_name, is_admin) VALUES ('u-ada', 'ada', 'Ada', false)`);
    await db.query(`INSERT INTO experiments (id, name, created_by) VALUES ('e-1', 'churn', 'u-ada')`);
    await db.query(
      `INSERT INTO runs (id, experiment_id, name, status, start_time, created_by, heartbeat_timeout_s)
       VALUES ($1, 'e-1', 'gbm', 'FINISHED', now(), 'u-ada', 120)`,
      [RUN],
    );
    await db.query(`INSERT INTO models (id, name, created_by) VALUES ('m-1', 'churn', 'u-ada')`);
    const insert = (id: string, number: number, lineage: object) =>
      db.query(`INSERT INTO model_versions (id, model_id, number, status, lineage) VALUES ($1, 'm-1', $2, 'ready', $3)`, [
        id,
        number,
        JSON.stringify(lineage),
      ]);
    await insert('v-run', 1, { jobId: 'j-1', run: RUN });
    await insert('v-attempt', 2, { jobId: 'j-2', run: '1' });
    await insert('v-none', 3, { notebook: 'nb.ipynb' });
    expect(await migrate(db)).toContain('052_model_version_runs.sql');
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
    await rm(before, { recursive: true, force: true });
  });

  it('moves a lineage.run naming a real run into run_id, and leaves every other lineage as it was', async () => {
    expect(await version('v-run')).toEqual({ run_id: RUN, lineage: { jobId: 'j-1' } });
    expect(await version('v-attempt')).toEqual({ run_id: null, lineage: { jobId: 'j-2', run: '1' } });
    expect(await version('v-none')).toEqual({ run_id: null, lineage: { notebook: 'nb.ipynb' } });
  });

  it('unlinks, not deletes, a version whose run is removed', async () => {
    await db.query('DELETE FROM runs WHERE id = $1', [RUN]);
    expect(await version('v-run')).toEqual({ run_id: null, lineage: { jobId: 'j-1' } });
  });
});
