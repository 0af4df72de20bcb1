import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../server/test/support/server.js';
import { models } from '../../src/models.js';
import { file } from '../../src/sql/remote-files.js';
import { sql } from '../../src/sql/sql.js';

describe('tandem://models/… files in sql, through a real Tandem server', () => {
  let server: TestServer;
  let dir: string;
  const env = { ...process.env };

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-kernel-remote-'));
    Object.assign(process.env, { TANDEM_URL: server.url, TANDEM_TOKEN: server.adminToken, TANDEM_MODEL_CACHE: path.join(dir, 'cache') });
    await writeFile(path.join(dir, 'sales.csv'), 'region,amount\nnorth,3\nsouth,4\nnorth,5\n');
    await models.register({ name: 'sales-data', dir, alias: 'current' });
  });

  afterAll(async () => {
    process.env = env;
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a quoted tandem:// file of a version by number, alias or latest', async () => {
    for (const at of ['1', 'current', 'latest']) {
      const totals = await sql(
        `select region, sum(amount)::INTEGER as total from 'tandem://models/sales-data/${at}/sales.csv' group by region order by region`,
      );
      expect(totals.toArray().map((r) => [r.region, r.total])).toEqual([
        ['north', 8],
        ['south', 4],
      ]);
    }
  });

  it('file() gives a local path to bind as a parameter', async () => {
    const rows = await sql`select count(*)::INTEGER as n from read_csv_auto(${await file('tandem://models/sales-data/1/sales.csv')})`;
    expect(rows.get(0)!.n).toBe(3);
  });

  it('takes a qualified owner%2Fname, so that a file of another owner’s same-named model is reachable', async () => {
    const local = await file('tandem://models/admin%2Fsales-data/current/sales.csv');
    expect(local).toBe(await file('tandem://models/sales-data/1/sales.csv'));
    await expect(file('tandem://models/nobody%2Fsales-data/1/sales.csv')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('names the files a version has when the path is wrong', async () => {
    await expect(sql(`select * from 'tandem://models/sales-data/1/missing.csv'`)).rejects.toThrow(
      'has no file missing.csv (it has sales.csv)',
    );
    await expect(file('http://example.com/x.csv')).rejects.toThrow('neither an s3:// nor a tandem:// URL');
  });
});
