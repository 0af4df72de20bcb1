import { afterEach, expect, it } from 'vitest';
import { migrate, splitStatements } from '../../src/db/migrate.js';
import { describeEachDb } from '../support/backends.js';

it('splitStatements() keeps semicolons inside quotes, comments and dollar bodies', () => {
  const sql = `CREATE TABLE a (x text DEFAULT ';'); -- a; comment
  CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
  /* block; */ SELECT 'it''s; fine'`;
  expect(splitStatements(sql)).toEqual([
    "CREATE TABLE a (x text DEFAULT ';')",
    'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql',
    "SELECT 'it''s; fine'",
  ]);
});

describeEachDb('migrate()', (backend) => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => drop?.());

  it('applies each migration once, even when run again', async () => {
    const db = await backend.open();
    drop = db.drop;
    expect(await migrate(db)).toEqual([]);
    const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM tandem_migrations');
    expect(row!.n).toBeGreaterThan(0);
  });

  it('rolls back a failing transaction', async () => {
    const db = await backend.open();
    drop = db.drop;
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO teams (id, name) VALUES ('t1', 'one')");
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.query("SELECT * FROM teams WHERE id = 't1'")).toEqual([]);
  });
});
