import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/postgres.js';
import type { Db } from '../../src/db/db.js';
import { createPostgresDatabase } from '../support/backends.js';

describe('openPostgres()', () => {
  let database: { url: string; drop(): Promise<void> };
  let db: Db;
  const lost: Error[] = [];

  beforeAll(async () => {
    database = await createPostgresDatabase();
    db = await openPostgres(database.url, { onIdleError: (error) => lost.push(error) });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('survives the server ending its idle connections (a restart, pg_terminate_backend) and reconnects', async () => {
    await Promise.all([db.query('SELECT pg_sleep(0.05)'), db.query('SELECT pg_sleep(0.05)')]); // two pooled connections
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
    } finally {
      await admin.end();
    }
    await expect.poll(() => lost.length, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(String(lost[0])).toMatch(/terminating connection/);
    expect(await db.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }]);
  });
});
