import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricHistoryPage, Run } from '@tandem/server/api';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { snapshotOf } from '../src/display/mime-bundle.js';
import { experiments, RunLogError } from '../src/experiments.js';
import { runInterruptHandlers } from '../src/kernel/channel.js';
import { models } from '../src/models.js';
import { setCurrentCell } from '../src/notebook.js';
import { RunLogQueue } from '../src/run-log-queue.js';
import { linearModel } from './models-fixtures.js';

describe('experiments in cells against a real Tandem server', () => {
  let server: TestServer;
  let dir: string;
  let token: string;
  const env = { ...process.env };

  const runOf = async (id: string): Promise<Run> => (await server.api('GET', `runs/${id}`, { token })).body;
  const history = async (id: string, key: string): Promise<MetricHistoryPage> =>
    (await server.api('GET', `runs/${id}/metrics/${key}?limit=25000`, { token })).body;

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-kernel-experiments-'));
    token = (await server.user('ada')).token;
    process.env.TANDEM_URL = server.url;
    process.env.TANDEM_TOKEN = token;
    process.env.TANDEM_NOTEBOOK = 'tandem:churn-notebook';
    process.env.TANDEM_MODEL_CACHE = path.join(dir, 'cache');
  });
  afterAll(async () => {
    process.env = env;
    setCurrentCell(undefined);
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('run() logs params, metric series, tags and an artifact, ends FINISHED and answers what the callback answers', async () => {
    setCurrentCell('cell-7');
    const file = path.join(dir, 'model.txt');
    await writeFile(file, 'weights');
    let id = '';
    const answer = await experiments.run('churn', async (run) => {
      id = run.id;
      run.params({ lr: 0.01, depth: 4 });
      for (let step = 0; step < 5; step++) run.log({ loss: 1 / (step + 1), acc: step / 10 }, { step });
      run.tags({ team: 'growth' });
      await run.artifact(file);
      return 42;
    });
    expect(answer).toBe(42);
    const run = await runOf(id);
    expect(run).toMatchObject({
      status: 'FINISHED',
      params: { lr: '0.01', depth: '4' },
      tags: { team: 'growth' },
      metrics: { loss: { value: 0.2, step: 4 }, acc: { value: 0.4, step: 4 } },
      notebook: 'tandem:churn-notebook',
      cell: 'cell-7',
      endTime: expect.any(String),
    });
    expect((await history(id, 'loss')).items.map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
    const artifacts = await server.api('GET', `runs/${id}/artifacts`, { token });
    expect(artifacts.body.items).toEqual([expect.objectContaining({ path: 'model.txt', size: 7 })]);
  });

  it('run.artifact uploads a folder with its structure, under the folder name, in path order', async () => {
    await mkdir(path.join(dir, 'model', 'weights'), { recursive: true });
    await writeFile(path.join(dir, 'model', 'config.json'), '{}');
    await writeFile(path.join(dir, 'model', 'weights', 'w.bin'), Buffer.alloc(10));
    await experiments.run('folders', async (run) => {
      const uploaded = await run.artifact(path.join(dir, 'model'));
      expect(uploaded.map((a) => [a.path, a.size])).toEqual([
        ['model/config.json', 2],
        ['model/weights/w.bin', 10],
      ]);
    });
  });

  it('run() ends FAILED when the callback throws, rethrows its error, and keeps what was logged before', async () => {
    let id = '';
    const boom = new Error('diverged at step 3');
    await expect(
      experiments.run('churn', async (run) => {
        id = run.id;
        for (let step = 0; step < 4; step++) run.log({ loss: step * 10 });
        throw boom;
      }),
    ).rejects.toBe(boom);
    const run = await runOf(id);
    expect(run.status).toBe('FAILED');
    expect((await history(id, 'loss')).items.map((p) => [p.step, p.value])).toEqual([
      [0, 0],
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
  });

  it('run() ends KILLED when the cell is interrupted while the callback awaits, and refuses later logging', async () => {
    let id = '';
    let loggedAfter: unknown;
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const running = experiments.run('churn', async (run) => {
      id = run.id;
      run.log({ loss: 1 });
      await stuck;
      try {
        run.log({ loss: 2 });
      } catch (error) {
        loggedAfter = error;
      }
    });
    await expect.poll(() => id).not.toBe('');
    runInterruptHandlers();
    await expect(running).rejects.toThrow(/interrupted: run .* was marked KILLED/);
    release();
    await expect.poll(() => loggedAfter).toBeInstanceOf(Error);
    expect(String(loggedAfter)).toMatch(/has ended \(KILLED\)/);
    const run = await runOf(id);
    expect(run.status).toBe('KILLED');
    expect(run.metrics.loss).toMatchObject({ value: 1 });
  });

  it('start() and end() bracket a run across cells, nested under a parent, shown as a card', async () => {
    const parent = await experiments.start('tuning', { name: 'sweep' });
    const child = await experiments.start('tuning', { name: 'lr=0.1', parent, params: { lr: 0.1 } });
    child.log({ auc: 0.91 });
    const card = snapshotOf(child);
    expect(card['text/plain']).toMatch(/^run lr=0\.1 \([0-9a-f]{32}\) in tuning: RUNNING\nauc=0\.9100\nparams: lr=0\.1/);
    expect(card['text/html']).toContain(`data-tandem-run="${child.id}"`);
    const ended = await child.end();
    expect(ended).toMatchObject({ status: 'FINISHED', parentRunId: parent.id, params: { lr: '0.1' }, metrics: { auc: { value: 0.91 } } });
    expect(snapshotOf(ended)['text/plain']).toMatch(/in tuning: FINISHED/);
    // Ending twice is the same end.
    expect(await child.end()).toMatchObject({ status: 'FINISHED' });
    await parent.end('KILLED');
    expect((await runOf(parent.id)).status).toBe('KILLED');
    expect(() => child.log({ auc: 1 })).toThrow(/has ended \(FINISHED\)/);
  });

  it('run.log only queues: 10,000 calls in a loop take milliseconds and every point arrives, in order, in few requests', async () => {
    const run = await experiments.start('churn', { name: 'fast loop' });
    const began = performance.now();
    for (let step = 0; step < 10_000; step++) run.log({ loss: 1 / (step + 1) }, { step });
    const loopMs = performance.now() - began;
    expect(loopMs).toBeLessThan(250);
    await run.end();
    const points = (await history(run.id, 'loss')).items;
    expect(points).toHaveLength(10_000);
    expect(points.every((p, i) => p.step === i && p.value === 1 / (i + 1))).toBe(true);
  });

  it('params are immutable: a changed value throws at once and queues nothing', async () => {
    await experiments.run('churn', async (run) => {
      run.params({ lr: 0.01 });
      expect(() => run.params({ lr: 0.02, depth: 3 })).toThrow(/param lr of run .* is already "0.01" and cannot become "0.02"/);
      run.params({ lr: 0.01 });
      await run.flush();
      expect((await runOf(run.id)).params).toEqual({ lr: '0.01' });
    });
  });

  it('a batch the server refuses surfaces at end() as a readable RunLogError after the run ended, never as an unhandled rejection', async () => {
    const run = await experiments.start('churn', { name: 'contested', logQueue: { intervalMs: 10 } });
    // Another writer logs the param first: this kernel cannot know, and its batch is refused whole.
    expect((await server.api('POST', `runs/${run.id}/log`, { token, body: { params: { lr: '0.5' } } })).status).toBe(204);
    run.params({ lr: 0.1 });
    for (let step = 0; step < 3; step++) run.log({ loss: step }, { step });
    // The flusher fails in the background, with nobody awaiting it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const error = await run.end().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunLogError);
    expect((error as Error).message).toMatch(
      /^run contested \([0-9a-f]{32}\): 1 batch \(3 metric points\) could not be stored: param lr .* already logged as "0.5"/,
    );
    expect((await runOf(run.id)).status).toBe('FINISHED');
  });

  it('flush() reports lost points once, naming the run, how many points and why', async () => {
    const run = await experiments.start('churn', { name: 'lossy' });
    await server.api('DELETE', `runs/${run.id}`, { token });
    run.log({ loss: 1 }).log({ loss: 2 });
    const error = await run.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunLogError);
    expect((error as RunLogError).lostPoints).toBe(2);
    expect((error as Error).message).toMatch(
      /^run lossy \([0-9a-f]{32}\): 1 batch \(2 metric points\) could not be stored: run .* is deleted/,
    );
    await expect(run.flush()).resolves.toBeUndefined();
  });

  it('an open run heartbeats while the cell is idle, so the server does not reap it', async () => {
    const run = await experiments.start('churn', { name: 'idle', heartbeatTimeoutSeconds: 10 });
    const first = Date.parse((await runOf(run.id)).lastSeenAt);
    await expect.poll(async () => Date.parse((await runOf(run.id)).lastSeenAt), { timeout: 6_000, interval: 250 }).toBeGreaterThan(first);
    await run.end();
  });

  it('search() finds runs with a filter and ordering, shown as a table of their params and metrics', async () => {
    for (const lr of [0.1, 0.01, 0.001])
      await experiments.run('search-me', async (run) => {
        run.params({ lr });
        run.log({ auc: 1 - lr });
      });
    const found = await experiments.search({ experiment: 'search-me', filter: 'metrics.auc > 0.95', orderBy: 'metrics.auc DESC' });
    expect(found.map((r) => r.params.lr)).toEqual(['0.001', '0.01']);
    const table = snapshotOf(found);
    expect(table['text/plain']).toMatch(/run\s+status\s+started\s+duration\s+params\.lr\s+metrics\.auc/);
    expect(table['text/plain']).toMatch(/\(2 runs\)$/);
    expect(table['text/html']).toContain('<th>metrics.auc</th>');
    await expect(experiments.search({ filter: 'metrics.auc >> 1' })).rejects.toThrow(/position/);
    const one = await experiments.get(found[0]!.id);
    expect(snapshotOf(one)['text/plain']).toMatch(/in search-me: FINISHED\nauc=0\.9990/);
  });

  it('models.register(..., { run }) takes a run or its id, records it as the version’s runId and tags the run with the version', async () => {
    const run = await experiments.start('churn', { name: 'to register' });
    const version = await models.register({ name: 'churn-model', onnx: linearModel([1], 0), run });
    expect(version).toMatchObject({ runId: run.id, lineage: { notebook: 'tandem:churn-notebook' } });
    expect(snapshotOf(version)['text/plain']).toMatch(/^churn-model v1/);
    expect(snapshotOf(version)['text/html']).toContain(`from run ${run.id.slice(0, 8)}`);
    await run.end();
    const again = await models.register({ name: 'churn-model', onnx: linearModel([2], 0), run: run.id });
    expect(again).toMatchObject({ number: 2, runId: run.id });
    expect((await runOf(run.id)).tags).toMatchObject({ 'tandem.registeredModel': 'ada/churn-model:2' });
    // A run the caller cannot see is refused as a missing one, and no version is left behind.
    await expect(models.register({ name: 'churn-model', onnx: linearModel([3], 0), run: 'f'.repeat(32) })).rejects.toMatchObject({
      status: 404,
    });
    expect((await models.get('churn-model')).number).toBe(2);
  });
});

describe('the run log queue', () => {
  it('sends a full batch at once, what queued meanwhile right after it, and a trickle only after the interval, one batch in flight at a time', async () => {
    const sent: number[] = [];
    let inFlight = 0;
    let most = 0;
    const queue = new RunLogQueue(
      async (batch) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        sent.push(batch.metrics?.length ?? 0);
        inFlight--;
      },
      'test',
      { intervalMs: 100, maxPoints: 100 },
    );
    for (let i = 0; i < 250; i++) queue.metric({ key: 'x', value: i, step: i });
    await expect.poll(() => sent, { timeout: 50, interval: 5 }).toEqual([100, 100, 50]);
    queue.metric({ key: 'x', value: 250, step: 250 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(sent).toEqual([100, 100, 50]);
    await expect.poll(() => sent, { timeout: 500, interval: 10 }).toEqual([100, 100, 50, 1]);
    expect(most).toBe(1);
  });

  it('retries a batch the server could not take for now, then stores it', async () => {
    const { TandemApiError } = await import('../src/api.js');
    let calls = 0;
    const queue = new RunLogQueue(
      async () => {
        if (++calls < 3) throw new TandemApiError('NETWORK', 'cannot reach the Tandem server', 0);
      },
      'test',
      { retryDelaysMs: [1, 1, 1] },
    );
    queue.metric({ key: 'x', value: 1 });
    await queue.flush();
    expect(calls).toBe(3);
  });
});

describe('experiments without a server', () => {
  it('say how to sign in instead of failing obscurely', async () => {
    const saved = { url: process.env.TANDEM_URL, token: process.env.TANDEM_TOKEN };
    delete process.env.TANDEM_TOKEN;
    try {
      await expect(experiments.start('churn')).rejects.toThrow(/not signed in/);
    } finally {
      Object.assign(process.env, { TANDEM_URL: saved.url, TANDEM_TOKEN: saved.token });
    }
  });
});
