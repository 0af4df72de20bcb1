import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.js';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { openPostgres } from '../../src/db/postgres.js';
import { createPostgresDatabase } from '../support/backends.js';

// Two servers starting at once against one fresh PostgreSQL database (a rolling deploy, two
// replicas) each run migrate() on their own pool; the advisory lock has to serialise them.
describe('migrate() run concurrently on one real PostgreSQL database', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const freshDatabase = async () => {
    const database = await createPostgresDatabase();
    cleanups.push(database.drop);
    return database;
  };
  const pool = async (url: string): Promise<Db> => {
    const db = await openPostgres(url);
    cleanups.push(() => db.close());
    return db;
  };
  const migrationFiles = async () => (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();

  it('both calls succeed and every migration is applied exactly once, by one of them', async () => {
    const files = await migrationFiles();
    // A few rounds on fresh databases: a race that only shows sometimes still shows here.
    for (let round = 0; round < 5; round++) {
      const { url } = await freshDatabase();
      const [a, b] = [await pool(url), await pool(url)];
      const results = await Promise.allSettled([migrate(a), migrate(b)]);
      expect(
        results.map((r) => (r.status === 'fulfilled' ? 'ok' : String(r.reason))),
        `round ${round}`,
      ).toEqual(['ok', 'ok']);
      const [first, second] = results.map((r) => (r as PromiseFulfilledResult<string[]>).value);
      expect([...first!, ...second!].sort(), `round ${round}: applied by the two calls together`).toEqual(files);
      const recorded = await a.query<{ name: string }>('SELECT name FROM tandem_migrations ORDER BY name');
      expect(recorded.map((r) => r.name)).toEqual(files);
      // The schema really is there once: the core tables exist and work.
      expect(await a.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).toEqual([{ n: 0 }]);
    }
  });

  it('a third call afterwards applies nothing', async () => {
    const { url } = await freshDatabase();
    const [a, b] = [await pool(url), await pool(url)];
    await Promise.all([migrate(a), migrate(b)]);
    expect(await migrate(await pool(url))).toEqual([]);
  });
});
