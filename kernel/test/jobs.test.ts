import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../server/src/worker/agent.js';
import { startCpuWorker } from '../../server/test/jobs/support.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { gpu } from '../src/gpu.js';
import { mimeBundleOf } from '../src/display/mime-bundle.js';
import { jobs, JobError } from '../src/jobs.js';
import { runInterruptHandlers, setDisplaySink, type MimeBundle } from '../src/kernel/channel.js';
import { spark } from '../src/spark.js';

const TRAINING = `
import os, tandem_job as tj
tj.info(train_rows=1208, device="cpu")
for epoch in range(5):
    tj.metric(step=epoch, loss=1.0 / (epoch + 1), accuracy=0.5 + epoch / 10)
    tj.progress(fraction=(epoch + 1) / 5, message=f"epoch {epoch + 1}/5")
    print(f"epoch {epoch + 1}", flush=True)
open(os.path.join(tj.output_dir(), "weights.bin"), "wb").write(b"w" * 10)
`;

describe('jobs from cells against a real server and worker', () => {
  let server: TestServer;
  let worker: RunningWorker;
  const env = { ...process.env };
  const displays: { bundle: MimeBundle; displayId?: string; update?: boolean }[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    process.env.TANDEM_URL = server.url;
    process.env.TANDEM_TOKEN = server.adminToken;
    const token = (await server.api('POST', 'tokens', { body: { name: 'w', kind: 'worker' } })).body.token;
    worker = await startCpuWorker(server, token, { leaseMs: 5000 });
    setDisplaySink((bundle, options) => displays.push({ bundle, ...options }));
  });
  afterAll(async () => {
    setDisplaySink(undefined);
    process.env = env;
    await worker?.stop();
    await server?.stop();
  });

  it('job.wait() shows live progress under the cell and ends with metrics charts and the registered model', async () => {
    displays.length = 0;
    const job = await gpu.submit({ script: TRAINING, gpus: 0, name: 'mlp run', model: 'cell-mlp' });
    const info = await job.wait();
    expect(info).toMatchObject({
      status: 'succeeded',
      progress: 1,
      metrics: { loss: 0.2, accuracy: 0.9 },
      result: { model: 'cell-mlp', version: 1 },
    });
    const ids = new Set(displays.map((d) => d.displayId));
    expect(ids.size).toBe(1);
    expect(displays[0]!.update).toBe(false);
    expect(displays.at(-1)).toMatchObject({ update: true });
    const html = String(displays.at(-1)!.bundle['text/html']);
    expect(html).toContain('succeeded');
    expect(html).toContain('100 %');
    expect(html.match(/<polyline/g)).toHaveLength(2);
    expect(html).toContain('Logs (');
    expect(html).toContain(`href="${server.url}/tandem/api/models/cell-mlp/versions/1"`);
    expect(await job.logs()).toEqual(expect.arrayContaining(['epoch 1', 'epoch 5']));
    expect(job.metrics().loss!.map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
  });

  it('the value of await job.wait() is a compact card: name, status and duration, metrics, facts as text, model and id', async () => {
    const job = await gpu.submit({ script: TRAINING, gpus: 0, name: 'card run', model: 'card-mlp' });
    const info = await job.wait({ display: false });
    expect(info.metrics).toEqual({ loss: 0.2, accuracy: 0.9 });
    expect(info.info).toEqual({ train_rows: 1208, device: 'cpu' });
    const card = mimeBundleOf(info);
    expect(String(card['text/plain']).split('\n')).toEqual([
      expect.stringMatching(/^card run: succeeded in \d+(\.\d)? s · epoch 5\/5$/),
      'loss 0.2 · accuracy 0.9',
      // The server keeps facts as JSON objects: in no particular order.
      expect.stringMatching(/^(train rows 1,208 · device cpu|device cpu · train rows 1,208)$/),
      'registered card-mlp v1',
      `job ${job.id}`,
    ]);
    const html = String(card['text/html']);
    expect(html).toContain('class="tandem-job"');
    expect(html).toContain(`href="${server.url}/tandem/api/models/card-mlp/versions/1"`);
    expect(html).not.toContain('<polyline');
  });

  it('a job shown as a cell’s value shows itself and keeps updating that cell’s card after the cell, until the job ends', async () => {
    const job = await gpu.submit({ script: `import time\ntime.sleep(1.5)\n${TRAINING}`, gpus: 0, name: 'live card' });
    const shown: typeof displays = [];
    const later: typeof displays = [];
    setDisplaySink((bundle, options) => shown.push({ bundle, ...options }));
    try {
      // Nothing for the cell's result: the card is a display of its own.
      expect(mimeBundleOf(job)).toBeUndefined();
      // The next cell runs; the job's card still belongs to the first one.
      setDisplaySink((bundle, options) => later.push({ bundle, ...options }));
      await expect.poll(() => String(shown.at(-1)?.bundle['text/plain']), { timeout: 60_000 }).toMatch(/^live card: succeeded in/);
    } finally {
      setDisplaySink((bundle, options) => displays.push({ bundle, ...options }));
    }
    expect(later).toEqual([]);
    expect(new Set(shown.map((d) => d.displayId)).size).toBe(1);
    expect(shown.map((d) => d.update)).toEqual([false, ...shown.slice(1).map(() => true)]);
    const states = shown.map((d) => /^live card: (\w+)/.exec(String(d.bundle['text/plain']))![1]);
    expect(states).toContain('running');
    expect(String(shown.at(-1)!.bundle['text/plain'])).toContain('loss 0.2 · accuracy 0.9');
  });

  it('a failing job makes wait() throw with the Python error', async () => {
    const job = await gpu.submit({ script: 'raise ValueError("bad learning rate")', gpus: 0 });
    const error = await job.wait({ display: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).message).toMatch(/failed: .*ValueError: bad learning rate/s);
  });

  it('interrupting the cell stops following but not the job; cancel() stops it', async () => {
    displays.length = 0;
    const job = await gpu.submit({ script: 'import time\ntime.sleep(600)', gpus: 0 });
    const waiting = job.wait();
    await new Promise((r) => setTimeout(r, 500));
    runInterruptHandlers();
    await expect(waiting).rejects.toThrow(/interrupted: Stopped following; the job keeps running/);
    expect(String(displays.at(-1)!.bundle['text/plain'])).toMatch(/job.cancel\(\) stops it/);
    expect((await job.refresh()).status).toMatch(/queued|running/);
    await job.cancel();
    await expect(job.wait({ display: false })).rejects.toThrow(/cancelled/);
  });

  it('spark.train() uploads the data and submits the MLlib template with registration under a default model name', async () => {
    const data = path.join(await mkdtemp(path.join(os.tmpdir(), 'tandem-churn-')), 'churn.csv');
    await writeFile(data, 'tenure,churned\n3,yes\n40,no\n');
    const job = await spark.train({ data, label: 'churned', algorithm: 'random_forest', params: { numTrees: 20 } });
    expect(job.info).toMatchObject({
      kind: 'spark',
      name: 'train churned-random-forest (random_forest)',
      spec: {
        template: 'mllib-train',
        inputs: {
          data: { name: 'churn.csv', sha256: createHash('sha256').update('tenure,churned\n3,yes\n40,no\n').digest('hex') },
          label: 'churned',
          algorithm: 'random_forest',
          params: { numTrees: 20 },
          testFraction: 0.2,
        },
      },
    });
    expect((await jobs.list({ kind: 'spark' })).map((j) => j.id)).toContain(job.id);
    await job.cancel();
  });

  it('bad options come back as a readable error naming the field', async () => {
    const data = path.join(await mkdtemp(path.join(os.tmpdir(), 'tandem-bad-')), 'x.csv');
    await writeFile(data, 'a,y\n1,2\n');
    await expect(spark.train({ data, label: 'y', algorithm: 'svm' as never })).rejects.toThrow(/spec\.inputs\.algorithm/);
  });
});
