import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDBConnection } from '@duckdb/node-api';
import { qualityReport } from '../../src/monitor/quality.js';
import { duckdb } from '../../src/sql/sql.js';

describe('data quality reports', () => {
  let connection: DuckDBConnection;

  beforeAll(async () => {
    connection = await duckdb();
    await connection.run(`CREATE TABLE train AS SELECT * FROM (VALUES (1.0, 'red'), (5.0, 'blue'), (3.0, 'red')) AS t(x, colour)`);
    await connection.run(`CREATE TABLE today AS SELECT * FROM (VALUES
      (2.0, 'red'), (9.0, 'green'), (NULL, 'violet'), (0.5, NULL), (2.0, 'red')) AS t(x, colour)`);
  });
  afterAll(async () => {
    await connection.run('DROP TABLE IF EXISTS train; DROP TABLE IF EXISTS today');
  });

  it('counts nulls, distinct values, ranges and duplicate rows of each column', async () => {
    const report = await qualityReport(connection, 'today');
    expect(report).toMatchObject({ rows: 5, duplicateRows: 1 });
    expect(report.columns).toEqual([
      expect.objectContaining({ column: 'x', nulls: 1, nullShare: 0.2, distinct: 3, min: 0.5, max: 9, outOfRange: null }),
      expect.objectContaining({ column: 'colour', nulls: 1, distinct: 3, min: null, max: null, newCategories: null }),
    ]);
  });

  it('with a reference, counts values outside its range and names categories it never had', async () => {
    const report = await qualityReport(connection, 'today', { reference: 'train' });
    expect(report.columns.map((c) => [c.column, c.outOfRange, c.newCategories, c.newExamples])).toEqual([
      ['x', 2, null, []],
      ['colour', null, 2, ['green', 'violet']],
    ]);
  });

  it('names unknown options and columns, and a reference without the column', async () => {
    await expect(qualityReport(connection, 'today', { refrence: 'train' } as never)).rejects.toThrow('unknown option "refrence"');
    await expect(qualityReport(connection, 'today', { columns: ['y'] })).rejects.toThrow('unknown column "y" (the data has x, colour)');
    await expect(qualityReport(connection, 'today', { reference: 'select 1 as x' })).rejects.toThrow(
      'the reference has no column "colour"',
    );
  });
});
