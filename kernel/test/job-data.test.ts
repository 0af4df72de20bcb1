// Data for jobs, given as users have it, reaching a worker that shares no files with the kernel.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as aq from 'arquero';
import * as Minio from 'minio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { gpu } from '../src/gpu.js';
import { stageData } from '../src/job-data.js';
import type { Job } from '../src/jobs.js';
import { setDisplaySink, type MimeBundle } from '../src/kernel/channel.js';
import { models } from '../src/models.js';
import { resetS3Client } from '../src/sql/remote-files.js';
import { spark } from '../src/spark.js';
import { sql } from '../src/sql/sql.js';
import { repoRoot } from './support/jupyter.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker.js';

const DATASETS = path.join(repoRoot, 'node_modules/vega-datasets/data');

// Prints what each input looks like on the worker: its file name and row count.
const DESCRIBE_INPUTS = `
import json, os, tandem_job as tj
for name in sorted(json.loads(os.environ["TANDEM_DATA"])):
    path = tj.data(name)
    print(f"{name}: {os.path.basename(path)} {len(tj.read_pandas(path))} rows", flush=True)
`;

describe('data for jobs, from a kernel to a worker on another machine', () => {
  let server: TestServer;
  let worker: WorkerProcess;
  let notebookDir: string;
  const env = { ...process.env };
  const displays: MimeBundle[] = [];

  const logsOf = async (job: Job) => {
    await job.wait({ display: false });
    return (await job.logs()).join('\n');
  };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres', store: 'minio' });
    const alice = await server.user('alice');
    const workerToken = (await server.api('POST', 'tokens', { body: { name: 'remote', kind: 'worker' } })).body.token;
    worker = await startWorkerProcess({ serverUrl: server.url, token: workerToken, spark: true, gpu: true });
    notebookDir = await mkdtemp(path.join(os.tmpdir(), 'tandem-notebook-'));
    await copyFile(path.join(DATASETS, 'cars.json'), path.join(notebookDir, 'cars.json'));
    await copyFile(path.join(DATASETS, 'flights-200k.arrow'), path.join(notebookDir, 'flights.arrow'));
    await writeFile(path.join(notebookDir, 'sales.csv'), 'region,amount\nnorth,3\nsouth,4\nnorth,5\n');
    const s3 = inject('s3');
    const url = new URL(s3.TANDEM_S3_ENDPOINT);
    const minio = new Minio.Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      accessKey: s3.TANDEM_S3_ACCESS_KEY,
      secretKey: s3.TANDEM_S3_SECRET_KEY,
    });
    if (!(await minio.bucketExists('lake'))) await minio.makeBucket('lake');
    await minio.putObject('lake', 'raw/sales.csv', Buffer.from('region,amount\neast,1\n'));
    Object.assign(process.env, {
      TANDEM_URL: server.url,
      TANDEM_TOKEN: alice.token,
      ...s3,
      TANDEM_SQL_CACHE: path.join(notebookDir, '.cache'),
    });
    resetS3Client();
    process.chdir(notebookDir);
    setDisplaySink((bundle) => displays.push(bundle));
  }, 120_000);

  afterAll(async () => {
    setDisplaySink(undefined);
    process.chdir(repoRoot);
    process.env = env;
    resetS3Client();
    await worker?.stop();
    await server?.stop();
    await rm(notebookDir, { recursive: true, force: true });
  });

  it('takes files, s3:// objects and in-memory tables, and the worker reads each from its own copy', async () => {
    const byRegion = await sql`select region, sum(amount)::INTEGER as total from 'sales.csv' group by region`;
    const job = await gpu.submit({
      script: DESCRIBE_INPUTS,
      gpus: 0,
      data: {
        csv: 'sales.csv',
        json: path.join(notebookDir, 'cars.json'),
        arrow_file: 'flights.arrow',
        s3: 's3://lake/raw/sales.csv',
        sql_result: byRegion,
        arquero: aq.table({ x: [1, 2, 3, 4] }),
      },
    });
    // What reaches the worker is content hashes, never a path on this machine.
    expect(JSON.stringify(job.info.spec)).not.toContain(notebookDir);
    const logs = await logsOf(job);
    expect(logs).toContain('csv: sales.csv 3 rows');
    expect(logs).toContain('json: cars.json 406 rows');
    expect(logs).toContain('arrow_file: flights.parquet 200000 rows');
    expect(logs).toContain('s3: sales.csv 1 rows');
    expect(logs).toContain('sql_result: table.parquet 2 rows');
    expect(logs).toContain('arquero: table.parquet 4 rows');
    expect(worker.output()).not.toContain('failed');
  });

  it('uploads a large file once, with progress under the cell, and sends only its hash the next time', async () => {
    const big = path.join(notebookDir, 'big.csv');
    await writeFile(big, `n,label\n${Array.from({ length: 700_000 }, (_, i) => `${i},row-${i % 7}`).join('\n')}\n`);
    displays.length = 0;
    const first = await stageData(big);
    const shown = displays.map((d) => String(d['text/plain']));
    expect(shown[0]).toMatch(/^uploading big\.csv: 0\.0 of \d+\.\d MB/);
    expect(shown.at(-1)).toMatch(/^uploaded big\.csv: \d+\.\d MB in \d+\.\d s$/);
    displays.length = 0;
    expect(await stageData(big)).toEqual(first);
    expect(displays).toEqual([]);
  });

  it('says which option is wrong when the data cannot be found or read', async () => {
    await expect(gpu.submit({ script: 'print(1)', gpus: 0, data: { train: 'missing.csv' } })).rejects.toThrow(
      /^data\.train: missing\.csv does not exist on this machine/,
    );
    await expect(spark.train({ data: 'nope/cars.csv', label: 'y', algorithm: 'logistic' })).rejects.toThrow(
      /^data: nope\/cars\.csv does not exist/,
    );
    await expect(spark.train({ data: 42 as never, label: 'y', algorithm: 'logistic' })).rejects.toThrow(
      'data: expected a file path, an s3:// URL or an Arrow/arquero table, got number',
    );
    await expect(stageData('ftp://host/x.csv')).rejects.toThrow(/cannot be read by workers/);
  });

  it('trains on Spark from a query result and registers the model with the data’s fingerprint', async () => {
    const cars = await sql`select Horsepower, Weight_in_lbs, Origin from read_json_auto('cars.json') where Horsepower is not null`;
    const job = await spark.train({ data: cars, label: 'Origin', algorithm: 'logistic', model: 'origin-from-sql' });
    const info = await job.wait({ display: false });
    expect(info.result).toMatchObject({ model: 'origin-from-sql', version: 1 });
    const version = await models.get('origin-from-sql');
    expect(version.params).toMatchObject({
      'inputs.data.name': 'table.parquet',
      'inputs.data.sha256': expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  }, 180_000);
});
