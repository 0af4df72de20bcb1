import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.js';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { openPostgres } from '../../src/db/postgres.js';
import { createPostgresDatabase } from '../support/backends.js';

// 011 turns the global name UNIQUE into one per owner: registries made before it must keep working.
describe('migration 011_model_namespaces on a registry made before it', () => {
  let db: Db;
  let drop: () => Promise<void>;
  let before: string;
  const creatorOf = async (id: string) =>
    (await db.query<{ created_by: string }>('SELECT created_by FROM models WHERE id = $1', [id]))[0]?.created_by;
  const insertModel = (id: string, name: string, createdBy: string | null) =>
    db.query('INSERT INTO models (id, name, created_by) VALUES ($1, $2, $3)', [id, name, createdBy]);

  beforeAll(async () => {
    const database = await createPostgresDatabase();
    db = await openPostgres(database.url);
    drop = database.drop;
    before = await mkdtemp(path.join(os.tmpdir(), 'tandem-migrations-'));
    for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f < '011')) {
      await symlink(path.join(MIGRATIONS_DIR, file), path.join(before, file));
    }
    await migrate(db, before);
    await db.query(
      `INSERT INTO users (id, name, display_name, is_admin) VALUES ('u-eve', 'eve', 'Eve', false), ('u-root', 'root', 'Root', true)`,
    );
    await insertModel('m-churn', 'churn', 'u-eve');
    // Rows without a creator: one has an owner grant, one has none at all.
    await insertModel('m-legacy', 'legacy', null);
    await db.query(
      `INSERT INTO grants (resource_type, resource_id, principal_type, principal_id, role) VALUES ('model', 'm-legacy', 'user', 'u-eve', 'owner')`,
    );
    await insertModel('m-orphan', 'orphan', null);
    expect(await migrate(db)).toContain('011_model_namespaces.sql');
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
    await rm(before, { recursive: true, force: true });
  });

  it('keeps every existing model, giving a creatorless one its owner, else the first admin', async () => {
    expect(await creatorOf('m-churn')).toBe('u-eve');
    expect(await creatorOf('m-legacy')).toBe('u-eve');
    expect(await creatorOf('m-orphan')).toBe('u-root');
  });

  it('lets another owner reuse a name, but not the same owner, and requires a creator', async () => {
    await insertModel('m-root-churn', 'churn', 'u-root');
    await expect(insertModel('m-eve-churn-2', 'churn', 'u-eve')).rejects.toThrow(/models_owner_name_key/);
    await expect(insertModel('m-nobody', 'nobody', null)).rejects.toThrow(/created_by/);
  });
});
