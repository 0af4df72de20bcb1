import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DataChecks } from '../../src/monitor/checks.js';
import { duckdb } from '../../src/sql/sql.js';

describe('data checks', () => {
  let connection: DuckDBConnection;
  const run = <T>(work: (c: DuckDBConnection) => Promise<T>) => work(connection);
  const check = (source = 'orders') => new DataChecks(run, source);

  beforeAll(async () => {
    connection = await duckdb();
    await connection.run(`CREATE TABLE orders AS SELECT * FROM (VALUES
      (1, 'ana@x.io', 10.0, 'eu'),
      (2, 'bo@x.io', 250.5, 'us'),
      (2, 'not-an-email', -3.0, 'eu'),
      (4, NULL, NULL, 'mars')) AS t(id, email, amount, region)`);
  });
  afterAll(async () => {
    await connection.run('DROP TABLE IF EXISTS orders');
  });

  it('passes when every check holds, and counts the rows', async () => {
    const report = await check().notNull('id').between('id', 1, 4).rowCount(1, 10);
    expect(report).toMatchObject({ rows: 4, passed: true });
    expect(report.checks.map((c) => [c.check, c.failing, c.passed])).toEqual([
      ['notNull(id)', 0, true],
      ['between(id, 1, 4)', 0, true],
      ['rowCount(1, 10)', 0, true],
    ]);
  });

  it('counts the offending rows of each failed check and shows some of their values', async () => {
    const report = await check()
      .notNull('email')
      .unique('id')
      .between('amount', 0, 100)
      .matches('email', /^[^@]+@[^@]+$/)
      .oneOf('region', ['eu', 'us']);
    expect(report.passed).toBe(false);
    expect(Object.fromEntries(report.checks.map((c) => [c.check, [c.failing, c.examples]]))).toEqual({
      'notNull(email)': [1, [null]],
      'unique(id)': [1, [2]],
      'between(amount, 0, 100)': [2, expect.arrayContaining([250.5, -3])],
      'matches(email, /^[^@]+@[^@]+$/)': [1, ['not-an-email']],
      'oneOf(region, ["eu","us"])': [1, ['mars']],
    });
  });

  it('assert() fails with the failed checks named, so a pipeline step fails with it', async () => {
    await expect(check().notNull('id').oneOf('region', ['eu', 'us']).assert()).rejects.toThrow(
      'check(): 1 of 2 checks failed: oneOf(region, ["eu","us"]) (1 row, e.g. "mars")',
    );
    await expect(check().notNull('id').assert()).resolves.toMatchObject({ passed: true });
  });

  it('reads queries and files like any other source, and names an unknown column or bad options', async () => {
    expect((await check('select range as n from range(5)').between('n', 0, 4)).passed).toBe(true);
    await expect(check().notNull('colour').then()).rejects.toThrow(
      'check(): unknown column "colour" (the data has id, email, amount, region)',
    );
    expect(() => check().between('amount', 5, 1)).toThrow('min (5) is above max (1)');
    expect(() => check().oneOf('region', [])).toThrow('non-empty array');
    await expect(check().then()).rejects.toThrow('add at least one check');
    await expect(check('no_such_table').notNull('id').then()).rejects.toThrow('check(): cannot read the data');
  });
});
