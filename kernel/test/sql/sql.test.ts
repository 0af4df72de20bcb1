import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as aq from 'arquero';
import { tableFromArrays } from 'apache-arrow';
import * as Minio from 'minio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { register, sql, SqlError } from '../../src/sql/sql.js';
import { resetS3Client } from '../../src/sql/remote-files.js';

describe('sql on in-process DuckDB', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-sql-'));
    process.env.TANDEM_SQL_CACHE = path.join(dir, 'cache');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('binds template values as parameters, so quotes in a value cannot change the query', async () => {
    const name = "x' OR 1=1 --";
    const result = await sql`select ${name} as name, ${41} + 1 as answer`;
    expect(result.toArray().map((r) => r.toJSON())).toEqual([{ name, answer: 42 }]);
  });

  it('accepts a query string with positional or named parameters', async () => {
    expect((await sql('select $1::INTEGER * 2 as v', [21])).get(0)!.v).toBe(42);
    expect((await sql('select $n::INTEGER as v', { n: 7 })).get(0)!.v).toBe(7);
  });

  it('reads CSV, Parquet and JSON files', async () => {
    const csv = path.join(dir, 'cars.csv');
    await writeFile(csv, 'name,mpg\nvolvo,21.5\nfiat,30\n');
    const parquet = path.join(dir, 'cars.parquet');
    const json = path.join(dir, 'cars.json');
    await sql(`copy (select * from '${csv}') to '${parquet}' (format parquet)`);
    await sql(`copy (select * from '${csv}') to '${json}' (format json)`);
    for (const file of [csv, parquet, json]) {
      const result = await sql(`select name, mpg from '${file}' order by mpg`);
      expect(result.toArray().map((r) => r.toJSON())).toEqual([
        { name: 'volvo', mpg: 21.5 },
        { name: 'fiat', mpg: 30 },
      ]);
    }
  });

  it('queries in-memory Arrow and arquero tables, interpolated or registered by name', async () => {
    const arrowTable = tableFromArrays({ k: new Int32Array([1, 2, 3]), v: new Float64Array([0.5, 1.5, 2.5]) });
    const arqueroTable = aq.table({ k: [1, 2, 4], label: ['one', 'two', 'four'] });
    const joined = await sql`select a.k, a.v, b.label from ${arrowTable} a join ${arqueroTable} b using (k) order by k`;
    expect(joined.toArray().map((r) => r.toJSON())).toEqual([
      { k: 1, v: 0.5, label: 'one' },
      { k: 2, v: 1.5, label: 'two' },
    ]);
    await register('measurements', arrowTable);
    expect((await sql`select sum(v) as total from measurements`).get(0)!.total).toBe(4.5);
  });

  it('returns Arrow columns with their types and nulls for a 1M-row result', async () => {
    const result = await sql`select i::INTEGER as i, i * 0.5 :: DOUBLE as half, case when i % 10 = 0 then null else i end as sparse
      from range(1000000) t(i)`;
    expect(result.numRows).toBe(1_000_000);
    expect(result.schema.fields.map((f) => String(f.type))).toEqual(['Int32', 'Float64', 'Int64']);
    expect(result.getChild('sparse')!.nullCount).toBe(100_000);
    expect(result.get(999_999)!.toJSON()).toEqual({ i: 999_999, half: 499_999.5, sparse: 999_999n });
    expect(result.get(10)!.sparse).toBeNull();
  });

  it('keeps text, booleans, dates and decimals readable', async () => {
    const row = (await sql`select 'a' as s, true as b, date '2024-02-29' as d, 1.25::DECIMAL(5,2) as dec`).get(0)!;
    expect(row.s).toBe('a');
    expect(row.b).toBe(true);
    expect(new Date(row.d).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(row.dec).toBe(1.25);
  });

  it('fails with an SqlError carrying DuckDB’s message and the query', async () => {
    const error = await sql`select * from no_such_table`.catch((e) => e);
    expect(error).toBeInstanceOf(SqlError);
    expect(error.message).toContain('no_such_table');
    expect(error.query).toContain('no_such_table');
  });

  describe('s3:// paths through a real MinIO', () => {
    const bucket = `sql-${Date.now()}`;
    let client: Minio.Client;

    beforeAll(async () => {
      const s3 = inject('s3');
      Object.assign(process.env, s3);
      resetS3Client();
      const url = new URL(s3.TANDEM_S3_ENDPOINT);
      client = new Minio.Client({
        endPoint: url.hostname,
        port: Number(url.port),
        useSSL: false,
        accessKey: s3.TANDEM_S3_ACCESS_KEY,
        secretKey: s3.TANDEM_S3_SECRET_KEY,
      });
      await client.makeBucket(bucket);
      const local = path.join(dir, 'flights.parquet');
      await sql(`copy (select i as id, i % 3 as carrier from range(100) t(i)) to '${local}' (format parquet)`);
      await client.fPutObject(bucket, 'data/flights.parquet', local);
      await client.putObject(bucket, 'data/carriers.csv', 'carrier,name\n0,AA\n1,UA\n2,DL\n');
    });

    it('reads objects named in the query and joins them', async () => {
      const result = await sql(`select c.name, count(*)::INTEGER as n from 's3://${bucket}/data/flights.parquet' f
        join 's3://${bucket}/data/carriers.csv' c using (carrier) group by c.name order by c.name`);
      expect(result.toArray().map((r) => r.toJSON())).toEqual([
        { name: 'AA', n: 34 },
        { name: 'DL', n: 33 },
        { name: 'UA', n: 33 },
      ]);
    });

    it('picks up a replaced object instead of a stale cached copy', async () => {
      await client.putObject(bucket, 'data/carriers.csv', 'carrier,name\n0,B6\n');
      const result = await sql(`select name from 's3://${bucket}/data/carriers.csv'`);
      expect(result.toArray().map((r) => r.name)).toEqual(['B6']);
    });

    it('names the object when it does not exist', async () => {
      await expect(sql(`select * from 's3://${bucket}/missing.csv'`)).rejects.toThrow(`s3://${bucket}/missing.csv`);
    });
  });
});
