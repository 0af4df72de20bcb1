// gpu.train, spark.submit and models.setAlias as a cell calls them, against a real server (on
// PostgreSQL) and a real worker agent that runs PyTorch and Spark (local[1]).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../../server/src/worker/agent.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { writeChurnCsv } from '../../server/test/worker/spark-fixtures.js';
import type { MetricHistoryPage } from '@tandem/server/api';
import { request as tandemRequest, TandemApiError } from '../src/api.js';
import { mimeBundleOf } from '../src/display/mime-bundle.js';
import { experiments } from '../src/experiments.js';
import { gpu } from '../src/gpu.js';
import { jobs } from '../src/jobs.js';
import { models } from '../src/models.js';
import { spark } from '../src/spark.js';

const COUNT_SCRIPT = `
import sys, tandem_job as tj
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
df = spark.read.csv(tj.data("churn"), header=True, inferSchema=True)
churned = df.filter("churned = 1").count()
print(f"rows={df.count()} churned={churned} partitions={spark.conf.get('spark.sql.shuffle.partitions')} arg={sys.argv[1]}", flush=True)
`;

/** What the script prints, worked out here from the same CSV. */
async function expectedCounts(csv: string): Promise<{ rows: number; churned: number }> {
  const lines = (await readFile(csv, 'utf8')).trim().split('\n').slice(1);
  return { rows: lines.length, churned: lines.filter((l) => l.endsWith(',1')).length };
}

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('jobs and aliases from the cell SDK against a real server and worker', { timeout: 300_000 }, () => {
  let server: TestServer;
  let worker: RunningWorker;
  let dir: string;
  let csv: string;
  const env = { ...process.env };
  const as = (token: string) => (process.env.TANDEM_TOKEN = token);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-sdk-jobs-'));
    csv = await writeChurnCsv(dir, 300);
    server = await startTestServer({ db: 'postgres' });
    process.env.TANDEM_URL = server.url;
    const workerToken = (await server.api('POST', 'tokens', { body: { name: 'w', kind: 'worker' } })).body.token;
    worker = await startWorker({
      serverUrl: server.url,
      token: workerToken,
      gpu: true,
      spark: true,
      allowCpu: true,
      sparkMaster: 'local[1]',
      concurrency: 2,
      leaseMs: 10_000,
      log: () => undefined,
    });
  }, 120_000);
  afterAll(async () => {
    process.env = env;
    await worker?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gpu.train() uploads the CSV, trains the tabular MLP on the worker and registers <label>-mlp v1', async () => {
    as(server.adminToken);
    const job = await gpu.train({
      template: 'tabular-mlp',
      data: csv,
      label: 'churned',
      features: ['usage', 'tenure'],
      epochs: 4,
      hidden: [8],
      learningRate: 0.05,
      seed: 3,
      gpus: 0,
      description: 'MLP from a cell',
    });
    expect(job.info).toMatchObject({
      kind: 'gpu',
      name: 'train churned-mlp (tabular-mlp)',
      spec: {
        template: 'tabular-mlp',
        gpus: 0,
        inputs: {
          data: { name: 'churn.csv', sha256: await sha256(csv) },
          label: 'churned',
          features: ['usage', 'tenure'],
          epochs: 4,
          hidden: [8],
        },
      },
    });
    const info = await job.wait({ display: false });
    expect(info, info.error ?? undefined).toMatchObject({ status: 'succeeded', result: { model: 'churned-mlp', version: 1 } });
    expect(Object.keys(job.metrics()).length).toBeGreaterThan(0);
    for (const series of Object.values(job.metrics())) expect(series.map((p) => p.step)).toEqual([1, 2, 3, 4]);
    const version = await models.get('churned-mlp');
    expect(version.number).toBe(1);
    expect(version.files.map((f) => f.path)).toContain('model.onnx');
    expect(version.lineage).toMatchObject({ jobId: job.id, source: 'gpu:tabular-mlp' });
    expect(version.description).toBe('MLP from a cell');
  });

  it('spark.train() logs its attempt as a run: the MLlib settings as params, the loss curve over steps and the evaluation as metrics', async () => {
    as(server.adminToken);
    const job = await spark.train({
      data: csv,
      label: 'churned',
      algorithm: 'logistic',
      params: { maxIter: 15 },
      model: 'churn-tracked',
      experiment: 'churn-spark',
    });
    const info = await job.wait({ display: false });
    expect(info, info.error ?? undefined).toMatchObject({ status: 'succeeded', runId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const run = await experiments.get(info.runId!);
    expect(run).toMatchObject({
      status: 'FINISHED',
      jobId: job.id,
      name: info.name,
      params: { template: 'mllib-train', 'inputs.algorithm': 'logistic', 'inputs.params.maxIter': '15', 'inputs.label': 'churned' },
      tags: { train_rows: expect.stringMatching(/^\d+$/), 'tandem.job.kind': 'spark' },
    });
    expect(Object.keys(run.metrics)).toEqual(expect.arrayContaining(['loss', 'accuracy', 'f1', 'auc']));
    // The series is the job's own: the same steps and values the job view charts.
    const loss = (await tandemRequest<MetricHistoryPage>(`runs/${run.id}/metrics/loss`)).items;
    expect(loss.length).toBeGreaterThan(1);
    expect(loss.map((p) => [p.step, p.value])).toEqual(job.metrics().loss!.map((p) => [p.step, p.value]));
    expect((await experiments.search({ experiment: 'churn-spark' })).map((r) => r.id)).toEqual([run.id]);
    expect(await models.get('churn-tracked')).toMatchObject({ runId: run.id, lineage: { jobId: job.id } });
  });

  it('spark.submit() uploads its data, passes args and conf, and the script reads the file on the worker', async () => {
    as(server.adminToken);
    const job = await spark.submit({
      script: COUNT_SCRIPT,
      args: ['7'],
      conf: { 'spark.sql.shuffle.partitions': '2' },
      data: { churn: csv },
      name: 'count churners',
      maxAttempts: 1,
    });
    expect(job.info).toMatchObject({
      kind: 'spark',
      name: 'count churners',
      maxAttempts: 1,
      spec: {
        script: COUNT_SCRIPT,
        args: ['7'],
        conf: { 'spark.sql.shuffle.partitions': '2' },
        data: { churn: { name: 'churn.csv', sha256: await sha256(csv) } },
      },
    });
    expect((await jobs.list({ kind: 'spark' })).map((j) => j.id)).toContain(job.id);
    const info = await job.wait({ display: false });
    expect(info.status, info.error ?? undefined).toBe('succeeded');
    const { rows, churned } = await expectedCounts(csv);
    const logs = await job.logs();
    expect(logs).toContain(`rows=${rows} churned=${churned} partitions=2 arg=7`);
    // The script's output and the worker's notes, without Spark's or the JVM's start-up chatter.
    const chatter = logs.filter((line) => /INFO|WARN|log4j|incubator|netlib|Setting Spark log level/.test(line));
    expect(chatter, chatter.join('\n')).toEqual([]);
    // Its card ends with what Spark ran, in full.
    const card = String(mimeBundleOf(info)['text/plain']).split('\n');
    expect(card[0]).toMatch(/^count churners: succeeded in .+ · done: [1-9]\d* Spark jobs?, (\d+)\/\1 tasks$/);
  });

  it('spark.submit() names a data entry that does not exist before submitting anything', async () => {
    as(server.adminToken);
    const before = (await jobs.list({ kind: 'spark' })).length;
    await expect(spark.submit({ script: COUNT_SCRIPT, data: { churn: path.join(dir, 'missing.csv') } })).rejects.toThrow(
      /^data\.churn: .*missing\.csv does not exist on this machine/,
    );
    expect(await jobs.list({ kind: 'spark' })).toHaveLength(before);
  });

  it('models.setAlias() points an alias at a version and moves it; models.get() follows it', async () => {
    as(server.adminToken);
    for (const auc of [0.71, 0.8]) {
      await models.register({ name: 'churn-alias', files: { 'model.onnx': new Uint8Array([Math.round(auc * 100)]) }, metrics: { auc } });
    }
    const set = await models.setAlias('churn-alias', 'production', 1);
    expect(set).toMatchObject({ name: 'churn-alias', aliases: { production: 1 }, latestVersion: 2 });
    expect((await models.get('churn-alias', { alias: 'production' })).metrics).toEqual({ auc: 0.71 });
    const moved = await models.setAlias('churn-alias', 'production', 2);
    expect(moved.aliases).toEqual({ production: 2 });
    expect((await models.get('churn-alias', { alias: 'production' })).number).toBe(2);
    expect((await models.get('churn-alias', { version: 1 })).aliases).toEqual([]);
    await models.setAlias('churn-alias', 'staging', 1);
    expect((await models.search({ q: 'churn-alias' })).items[0]!.aliases).toEqual({ production: 2, staging: 1 });
  });

  it('models.setAlias() refuses a missing version, a bad alias name, a viewer and a stranger, with the server’s codes', async () => {
    as(server.adminToken);
    await models.register({ name: 'churn-guarded', files: { 'model.onnx': new Uint8Array([1]) } });
    await models.setAlias('churn-guarded', 'production', 1);
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => expect.fail('setAlias should have been refused'),
        (error: unknown) => error as TandemApiError,
      );
    const missing = await refusal(models.setAlias('churn-guarded', 'production', 99));
    expect(missing).toBeInstanceOf(TandemApiError);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(await refusal(models.setAlias('churn-guarded', 'not an alias!', 1))).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400 });

    const [viewer, stranger] = await Promise.all([server.user('vera'), server.user('sam')]);
    const shared = await server.api('PUT', 'models/churn-guarded/grants', { body: { type: 'user', name: 'vera', role: 'viewer' } });
    expect(shared.status).toBe(200);
    as(viewer.token);
    expect((await models.get('churn-guarded', { alias: 'production' })).number).toBe(1);
    expect(await refusal(models.setAlias('churn-guarded', 'staging', 1))).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    as(stranger.token);
    expect(await refusal(models.setAlias('churn-guarded', 'staging', 1))).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    as(server.adminToken);
    expect((await models.search({ q: 'churn-guarded' })).items[0]!.aliases).toEqual({ production: 1 });
  });
});
