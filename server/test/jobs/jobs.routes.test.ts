import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerClient } from '../../src/worker/worker.client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { bytes, inlineJob, registeredWorker, workerToken } from './support.js';

describe('jobs API', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let worker: WorkerClient;

  beforeAll(async () => {
    server = await startTestServer();
    alice = await server.user('alice');
    worker = await registeredWorker(server);
  });
  afterAll(() => server.stop());

  const submit = async (body: unknown = inlineJob(), token = alice.token) => {
    const res = await server.api('POST', 'jobs', { token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  const claimNext = async (client = worker) => (await client.claim(1000, 0))!;

  describe('validation', () => {
    it('rejects a spec without a script, file or template, naming the fields', async () => {
      const res = await server.api('POST', 'jobs', { token: alice.token, body: { kind: 'spark', spec: { args: [] } } });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/exactly one of script, file or template/);
    });

    it('names the bad template input', async () => {
      const res = await server.api('POST', 'jobs', {
        token: alice.token,
        body: { kind: 'spark', spec: { template: 'mllib-train', inputs: { data: 'x.csv', label: 'y', algorithm: 'svm' } } },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/spec\.inputs\.algorithm/);
    });

    it('rejects Spark conf keys that are not spark.*', async () => {
      const res = await server.api('POST', 'jobs', {
        token: alice.token,
        body: { kind: 'spark', spec: { script: 'x', conf: { 'executor.memory': '1g' } } },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/spec\.conf/);
    });

    it('fills template defaults', async () => {
      const job = await submit({ kind: 'gpu', spec: { template: 'tabular-mlp', inputs: { data: '/d.csv', label: 'y' } } });
      expect(job.spec.inputs).toMatchObject({ epochs: 10, task: 'classification', hidden: [64, 32] });
      await server.api('POST', `jobs/${job.id}/cancel`, { token: alice.token });
    });
  });

  describe('tokens', () => {
    it('worker tokens cannot use the user API', async () => {
      const token = await workerToken(server, alice.token);
      expect((await server.api('GET', 'jobs', { token })).status).toBe(403);
      expect((await server.api('GET', 'models', { token })).status).toBe(403);
    });

    it('user tokens cannot claim jobs', async () => {
      const res = await server.api('POST', `workers/${worker.workerId}/claim`, { token: alice.token, body: {} });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/worker token/);
    });

    it('a worker of another user cannot claim alice’s jobs', async () => {
      const bob = await server.user('bob');
      const bobsWorker = await registeredWorker(server, ['gpu'], await workerToken(server, bob.token));
      const job = await submit();
      expect(await bobsWorker.claim(1000, 0)).toBeUndefined();
      await server.api('POST', `jobs/${job.id}/cancel`, { token: alice.token });
    });
  });

  it('a job runs: queued → running → succeeded, with its events and outputs in order', async () => {
    const job = await submit(inlineJob('print(1)', { name: 'happy path' }));
    expect(job).toMatchObject({ status: 'queued', attempt: 0, name: 'happy path' });
    const claimed = await claimNext();
    expect(claimed).toMatchObject({ id: job.id, status: 'running', attempt: 1 });
    await worker.events(claimed, [
      { type: 'log', data: { stream: 'stdout', line: 'epoch 1' } },
      { type: 'metric', data: { step: 1, loss: 0.5 } },
      { type: 'progress', data: { fraction: 0.5, message: 'half' } },
    ]);
    await worker.upload(claimed, 'model/weights.bin', bytes('weights'));
    await worker.complete(claimed, { status: 'succeeded', metrics: { loss: 0.25 } });

    const done = (await server.api('GET', `jobs/${job.id}`, { token: alice.token })).body;
    expect(done).toMatchObject({ status: 'succeeded', progress: 1, metrics: { loss: 0.25 }, error: null });
    const { body } = await server.api('GET', `jobs/${job.id}/events`, { token: alice.token });
    expect(body.events.map((e: any) => e.type)).toEqual(['state', 'state', 'log', 'metric', 'progress', 'metric', 'state']);
    expect(body.events.at(-1).data).toEqual({ status: 'succeeded' });
    const outputs = (await server.api('GET', `jobs/${job.id}/outputs`, { token: alice.token })).body.outputs;
    expect(outputs).toEqual([{ path: 'model/weights.bin', size: 7, sha256: expect.any(String) }]);
    const file = await fetch(`${server.url}/tandem/api/jobs/${job.id}/outputs/model/weights.bin`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(await file.text()).toBe('weights');
  });

  it('events long-poll: a follower waiting on the cursor gets the next event as it is appended', async () => {
    const job = await submit();
    const claimed = await claimNext();
    const { body: first } = await server.api('GET', `jobs/${job.id}/events`, { token: alice.token });
    const cursor = first.events.at(-1).id;
    const waiting = server.api('GET', `jobs/${job.id}/events?after=${cursor}&waitMs=10000`, { token: alice.token });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await worker.events(claimed, [{ type: 'log', data: { stream: 'stdout', line: 'late line' } }]);
    const { body } = await waiting;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(body.events.map((e: any) => e.data.line)).toEqual(['late line']);
    await worker.complete(claimed, { status: 'succeeded' });
  });

  it('other users see neither the job nor its events', async () => {
    const job = await submit();
    const carol = await server.user('carol');
    expect((await server.api('GET', `jobs/${job.id}`, { token: carol.token })).status).toBe(404);
    expect((await server.api('GET', `jobs/${job.id}/events`, { token: carol.token })).status).toBe(404);
    expect((await server.api('GET', 'jobs', { token: carol.token })).body.jobs).toEqual([]);
    await server.api('POST', `jobs/${job.id}/cancel`, { token: alice.token });
  });

  it('lists with status, kind and name filters', async () => {
    const job = await submit(inlineJob('x', { name: 'needle-job' }));
    const list = (q: string) => server.api('GET', `jobs?${q}`, { token: alice.token }).then((r) => r.body.jobs.map((j: any) => j.id));
    expect(await list('q=needle')).toEqual([job.id]);
    expect(await list('q=needle&status=running')).toEqual([]);
    expect(await list('q=needle&kind=gpu&status=queued')).toEqual([job.id]);
    await server.api('POST', `jobs/${job.id}/cancel`, { token: alice.token });
  });

  describe('cancel', () => {
    it('cancels a queued job at once', async () => {
      const job = await submit();
      const res = await server.api('POST', `jobs/${job.id}/cancel`, { token: alice.token });
      expect(res.body).toMatchObject({ status: 'cancelled', error: 'cancelled by alice' });
      expect((await server.api('POST', `jobs/${job.id}/cancel`, { token: alice.token })).status).toBe(409);
    });

    it('asks the worker of a running job through its heartbeat, then records cancelled', async () => {
      const job = await submit();
      const claimed = await claimNext();
      const res = await server.api('POST', `jobs/${job.id}/cancel`, { token: alice.token });
      expect(res.body).toMatchObject({ status: 'running', cancelRequested: true });
      const beat = await worker.heartbeat(1000, [{ jobId: job.id, attempt: claimed.attempt }]);
      expect(beat).toEqual({ cancel: [job.id], lost: [] });
      await worker.complete(claimed, { status: 'cancelled' });
      expect((await server.api('GET', `jobs/${job.id}`, { token: alice.token })).body.status).toBe('cancelled');
    });
  });

  describe('leases', () => {
    it('an expired lease requeues the job with the next attempt; the old attempt is fenced off', async () => {
      const job = await submit(inlineJob('x', { maxAttempts: 2 }));
      const first = await claimNext();
      await new Promise((r) => setTimeout(r, 1100));
      const second = await claimNext();
      expect(second).toMatchObject({ id: job.id, attempt: 2 });
      await expect(worker.complete(first, { status: 'succeeded' })).rejects.toMatchObject({ status: 409 });
      await expect(worker.events(first, [{ type: 'log', data: { stream: 'stdout', line: 'zombie' } }])).rejects.toMatchObject({
        status: 409,
      });
      expect(await worker.heartbeat(1000, [{ jobId: job.id, attempt: 1 }])).toEqual({ cancel: [], lost: [job.id] });
      await worker.complete(second, { status: 'succeeded' });
      const { body } = await server.api('GET', `jobs/${job.id}/events?types=log`, { token: alice.token });
      expect(body.events.map((e: any) => e.data.line)).toEqual([
        expect.stringMatching(/worker lost \(lease expired\) during attempt 1 of 2: retrying/),
      ]);
    });

    it('fails the job once the last attempt’s lease expires', async () => {
      const job = await submit(inlineJob('x', { maxAttempts: 1 }));
      await claimNext();
      await new Promise((r) => setTimeout(r, 1100));
      expect(await worker.claim(1000, 0)).toBeUndefined();
      const done = (await server.api('GET', `jobs/${job.id}`, { token: alice.token })).body;
      expect(done).toMatchObject({ status: 'failed', error: 'worker lost (lease expired) during attempt 1 of 1' });
    });

    it('heartbeats keep a lease alive past its first expiry', async () => {
      const job = await submit();
      const claimed = await claimNext();
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 500));
        await worker.heartbeat(1000, [{ jobId: job.id, attempt: 1 }]);
      }
      expect(await worker.claim(1000, 0)).toBeUndefined();
      await worker.complete(claimed, { status: 'succeeded' });
    });
  });

  it('a waiting claim is answered as soon as a job is submitted', async () => {
    const claiming = worker.claim(1000, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const job = await submit();
    const claimed = await claiming;
    expect(claimed?.id).toBe(job.id);
    expect(Date.now() - started).toBeLessThan(1000);
    await worker.complete(claimed!, { status: 'succeeded' });
  });

  it('retry runs a failed job again as a new job with the same spec', async () => {
    const job = await submit(inlineJob('raise SystemExit(3)'));
    const claimed = await claimNext();
    await worker.complete(claimed, { status: 'failed', error: 'exit 3' });
    expect((await server.api('POST', `jobs/${job.id}/retry`, { token: alice.token })).status).toBe(201);
    const again = await claimNext();
    expect(again).toMatchObject({ spec: job.spec, attempt: 1 });
    expect(again.id).not.toBe(job.id);
    await worker.complete(again, { status: 'succeeded' });
  });

  it('a registering job succeeds only with a committed model version carrying its lineage', async () => {
    const job = await submit(inlineJob('x', { register: { model: 'job-model' }, notebook: 'nb/train.ipynb' }));
    const claimed = await claimNext();
    await worker.upload(claimed, 'model.onnx', bytes('onnx-bytes'));
    await worker.complete(claimed, { status: 'succeeded', metrics: { auc: 0.91 } });
    const done = (await server.api('GET', `jobs/${job.id}`, { token: alice.token })).body;
    expect(done).toMatchObject({ status: 'succeeded', result: { model: 'job-model', version: 1 } });
    const version = (await server.api('GET', 'models/job-model/versions/1', { token: alice.token })).body;
    expect(version).toMatchObject({
      metrics: { auc: 0.91 },
      lineage: { jobId: job.id, notebook: 'nb/train.ipynb', author: 'alice', source: 'gpu:script' },
    });
  });

  it('a registering job without outputs fails with the reason', async () => {
    const job = await submit(inlineJob('x', { register: { model: 'empty-model' } }));
    await worker.complete(await claimNext(), { status: 'succeeded' });
    const done = (await server.api('GET', `jobs/${job.id}`, { token: alice.token })).body;
    expect(done).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/registering model empty-model failed: .*no output files/),
    });
  });
});
