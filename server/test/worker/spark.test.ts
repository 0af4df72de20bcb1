import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../../src/worker/agent.js';
import { logLines, waitForJob, workerToken } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startStandaloneSpark, writeChurnCsv, type SparkCluster } from './spark-fixtures.js';

const finished = (j: { status: string }) => !['queued', 'running'].includes(j.status);

/** What the job's own process printed (not the worker's notes). */
async function jobOutput(server: TestServer, id: string): Promise<string[]> {
  const { body } = await server.api('GET', `jobs/${id}/events?types=log&limit=5000`);
  return body.events.filter((e: any) => e.data.stream !== 'system').map((e: any) => e.data.line as string);
}

const progressMessages = async (server: TestServer, id: string): Promise<string[]> =>
  (await server.api('GET', `jobs/${id}/events?types=progress`)).body.events.map((e: any) => e.data.message);

const SUM_SCRIPT = `
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
n = spark.range(int(sys.argv[1])).selectExpr("sum(id) AS s").first()["s"]
print("sum=" + str(n) + " partitions=" + spark.conf.get("spark.sql.shuffle.partitions"))
`;

const BROKEN_SCRIPT = `
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
spark.range(3).select("no_such_column").show()
`;

describe('Spark jobs on local[*] (PostgreSQL + MinIO)', () => {
  let server: TestServer;
  let worker: RunningWorker;
  let dir: string;
  // Spark JVMs start slowly: the three jobs are submitted up front and run side by side.
  const ids: Record<'sum' | 'train' | 'broken', string> = { sum: '', train: '', broken: '' };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-spark-'));
    await chmod(dir, 0o755); // jobs run as an unprivileged user, who reads shared folders like anyone
    const csv = await writeChurnCsv(dir);
    server = await startTestServer({ db: 'postgres', store: 'minio' });
    const submit = async (body: unknown) => {
      const res = await server.api('POST', 'jobs', { body });
      if (res.status !== 201) throw new Error(JSON.stringify(res.body));
      return res.body.id as string;
    };
    ids.train = await submit({
      kind: 'spark',
      name: 'churn logistic',
      spec: {
        template: 'mllib-train',
        inputs: { data: csv, label: 'churned', features: ['usage', 'tenure'], algorithm: 'logistic', params: { maxIter: 20 } },
      },
      register: { model: 'churn-spark' },
    });
    ids.sum = await submit({ kind: 'spark', spec: { script: SUM_SCRIPT, args: ['1000'], conf: { 'spark.sql.shuffle.partitions': '3' } } });
    ids.broken = await submit({ kind: 'spark', spec: { script: BROKEN_SCRIPT } });
    worker = await startWorker({
      serverUrl: server.url,
      token: await workerToken(server),
      spark: true,
      gpu: false,
      sparkMaster: 'local[1]',
      concurrency: 3,
      shareDirs: [dir],
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('submits a script with args and conf through spark-submit and ends its progress with the final Spark state', async () => {
    const job = await waitForJob(server, ids.sum, finished, 200_000);
    expect(job.status, job.error).toBe('succeeded');
    expect(await jobOutput(server, job.id)).toEqual(['sum=499500 partitions=3']);
    expect((await progressMessages(server, job.id)).at(-1)).toMatch(/^done: [1-9]\d* Spark jobs?, (\d+)\/\1 tasks$/);
  }, 210_000);

  it('keeps Spark and the JVM out of the job log: the template prints nothing but what the user asked for', async () => {
    const job = await waitForJob(server, ids.train, finished, 200_000);
    expect(job.status, job.error).toBe('succeeded');
    expect(await jobOutput(server, job.id)).toEqual([]);
  }, 210_000);

  it('trains an MLlib model from the template, records metrics and registers a version with lineage', async () => {
    const job = await waitForJob(server, ids.train, finished, 200_000);
    expect(job.status, job.error).toBe('succeeded');
    expect(job.result).toEqual({ model: 'churn-spark', version: 1 });
    expect(job.metrics.accuracy).toBeGreaterThan(0.7);
    // Row counts describe the data: info, not metrics; the loss is the solver's own curve.
    expect(Object.keys(job.metrics).sort()).toEqual(['accuracy', 'auc', 'f1', 'loss']);
    expect(job.info).toEqual({ train_rows: expect.any(Number), test_rows: expect.any(Number) });
    expect(job.info.train_rows + job.info.test_rows).toBe(600);
    const version = (await server.api('GET', 'models/churn-spark/versions/1')).body;
    expect(version.metrics).toMatchObject({ accuracy: job.metrics.accuracy, auc: expect.any(Number), f1: expect.any(Number) });
    expect(version.lineage).toMatchObject({ jobId: job.id, source: 'spark:mllib-train', author: 'admin' });
    expect(version.params).toMatchObject({ 'inputs.algorithm': 'logistic', 'inputs.params.maxIter': 20, 'inputs.label': 'churned' });
    expect(version.files.map((f: any) => f.path).sort()).toEqual(['model_info.json', 'spark-model.zip']);
    const { body } = await server.api('GET', `jobs/${job.id}/events?types=metric`);
    expect(body.events.filter((e: any) => e.data.step !== undefined).length).toBeGreaterThan(1);
  }, 210_000);

  it('fails a broken Spark script with the Spark error in the job error and its log', async () => {
    const job = await waitForJob(server, ids.broken, finished, 200_000);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/Traceback[\s\S]*no_such_column/);
    const output = await jobOutput(server, job.id);
    expect(output[0]).toBe('Traceback (most recent call last):');
    expect(output.join('\n')).toMatch(/AnalysisException.*no_such_column/);
  }, 210_000);
});

describe('Spark jobs on a standalone cluster', () => {
  let server: TestServer;
  let worker: RunningWorker;
  let cluster: SparkCluster;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-spark-'));
    await chmod(dir, 0o755); // jobs run as an unprivileged user, who reads shared folders like anyone
    cluster = await startStandaloneSpark();
    server = await startTestServer();
    worker = await startWorker({
      serverUrl: server.url,
      token: await workerToken(server),
      spark: true,
      gpu: false,
      sparkMaster: cluster.master,
      shareDirs: [dir],
      log: () => undefined,
    });
  }, 90_000);
  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
    cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('trains a random forest on the cluster’s executor and registers it', async () => {
    const csv = await writeChurnCsv(dir, 300);
    const res = await server.api('POST', 'jobs', {
      body: {
        kind: 'spark',
        spec: {
          template: 'mllib-train',
          inputs: { data: csv, label: 'churned', algorithm: 'random_forest', params: { numTrees: 10, maxDepth: 4 } },
          conf: { 'spark.cores.max': '1' },
        },
        register: { model: 'churn-forest' },
      },
    });
    const job = await waitForJob(server, res.body.id, finished, 180_000);
    expect(job.status, job.error).toBe('succeeded');
    expect(job.result).toEqual({ model: 'churn-forest', version: 1 });
    expect(job.metrics.accuracy).toBeGreaterThan(0.7);
    // A forest has no loss curve: no placeholder loss either.
    expect(Object.keys(job.metrics).sort()).toEqual(['accuracy', 'auc', 'f1']);
    expect((await logLines(server, job.id))[0]).toMatch(/spark-submit --master spark:\/\/127\.0\.0\.1:\d+/);
    expect(await jobOutput(server, job.id)).toEqual([]);
  }, 200_000);
});
