import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, statementNamer } from '../../src/db/postgres.js';
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
    let terminated: number;
    try {
      const { rows } = await admin.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      terminated = rows[0]!.n;
    } finally {
      await admin.end();
    }
    expect(terminated).toBeGreaterThan(0);
    // Each ended connection is reported (instead of crashing the process) and dropped from the pool.
    await expect.poll(() => lost.length, { timeout: 5_000 }).toBe(terminated);
    expect(String(lost[0])).toMatch(/terminating connection/);
    expect(await db.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }]);
  });

  it('listens on every channel over one connection, and stops each listener on its own', async () => {
    const listeners = async () =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND (query LIKE 'LISTEN%' OR query LIKE 'UNLISTEN%')`,
        )
      )[0]!.n;
    const heard: string[] = [];
    const stopA = await db.listen('tandem_test_a', (payload) => heard.push(`a:${payload}`));
    const stopB = await db.listen('tandem_test_b', (payload) => heard.push(`b:${payload}`));
    const stopA2 = await db.listen('tandem_test_a', (payload) => heard.push(`a2:${payload}`));
    expect(await listeners()).toBe(1);

    await db.query("SELECT pg_notify('tandem_test_a', '1'), pg_notify('tandem_test_b', '2')");
    await expect.poll(() => heard.sort()).toEqual(['a2:1', 'a:1', 'b:2']);

    await stopA();
    await db.query("SELECT pg_notify('tandem_test_a', '3'), pg_notify('tandem_test_b', '4')");
    await expect.poll(() => heard.length).toBe(5);
    expect(heard.slice(3).sort()).toEqual(['a2:3', 'b:4']);

    await stopA2();
    await stopB();
    await expect.poll(listeners).toBe(0);
  });

  it('prepares a statement that recurs on the connection that runs it, and answers it as before', async () => {
    await db.transaction(async (tx) => {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(...(await tx.query<{ n: number }>('SELECT $1::int + 1 AS n /* prepared probe */', [i])));
      expect(answers).toEqual([1, 2, 3, 4].map((n) => ({ n })));
      // pg_prepared_statements lists the querying connection's own statements.
      const [row] = await tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1::int + 1 AS n /* prepared probe */'`,
      );
      expect(row!.n).toBe(1);
    });
  });
});

describe('statementNamer()', () => {
  it('names a statement from its third use on, always the same name', () => {
    const name = statementNamer();
    expect([name('A'), name('A'), name('A'), name('A'), name('B')]).toEqual([undefined, undefined, 'tandem_1', 'tandem_1', undefined]);
  });

  it('names at most `most` statements, so texts built per request cannot fill every connection', () => {
    const name = statementNamer({ after: 1, most: 2 });
    expect(['A', 'B', 'C', 'A'].map(name)).toEqual(['tandem_1', 'tandem_2', undefined, 'tandem_1']);
  });

  it('forgets the uses it counts past `tracked` texts, so one-off texts cannot grow it without bound', () => {
    const name = statementNamer({ after: 2, tracked: 2 });
    name('A');
    name('B');
    name('C'); // the count of A's use is forgotten here
    expect([name('A'), name('A')]).toEqual([undefined, 'tandem_1']);
  });
});
