import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimedJob, WorkerClient } from '../../src/worker/worker.client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { bytes, inlineJob, registeredWorker, workerToken } from './support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Long enough that no lease runs out while a slow machine works through a test. */
const LEASE_MS = 60_000;

describe('jobs API', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let worker: WorkerClient;
  let users = 0;

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
  const claimNext = async (client = worker, leaseMs = LEASE_MS) => (await client.claim(leaseMs, 0))!;

  /**
   * A user of its own with a personal worker. A personal worker claims only its owner's jobs, so
   * the test's queue is its own: nothing another test left queued is handed to it.
   */
  const owner = async () => {
    const name = `user${++users}`;
    const user = await server.user(name);
    const client = await registeredWorker(server, ['gpu'], await workerToken(server, user.token));
    const get = async (id: string) => (await server.api('GET', `jobs/${id}`, { token: user.token })).body;
    return {
      name,
      token: user.token,
      worker: client,
      get,
      submit: (body: unknown = inlineJob()) => submit(body, user.token),
      claimNext: (leaseMs = LEASE_MS) => claimNext(client, leaseMs),
    };
  };

  /** Counts the server's event subscriptions, so a test can wait until a long-poll is parked. */
  const subscriptions = () => {
    const bus = server.ctx.events;
    const subscribe = bus.subscribe;
    let count = 0;
    bus.subscribe = (listener) => {
      count += 1;
      const off = subscribe.call(bus, listener);
      return () => {
        count -= 1;
        off();
      };
    };
    return { count: () => count, restore: () => void (bus.subscribe = subscribe) };
  };

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
      const [a, b] = [await owner(), await owner()];
      const job = await a.submit();
      expect(await b.worker.claim(LEASE_MS, 0)).toBeUndefined();
      expect(await a.worker.claim(LEASE_MS, 0)).toMatchObject({ id: job.id });
    });
  });

  it('a job runs: queued → running → succeeded, with its events and outputs in order', async () => {
    const { submit, claimNext, worker, token } = await owner();
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

    const done = (await server.api('GET', `jobs/${job.id}`, { token })).body;
    expect(done).toMatchObject({ status: 'succeeded', progress: 1, metrics: { loss: 0.25 }, error: null });
    const { body } = await server.api('GET', `jobs/${job.id}/events`, { token });
    expect(body.events.map((e: any) => e.type)).toEqual(['state', 'state', 'log', 'metric', 'progress', 'metric', 'state']);
    expect(body.events.at(-1).data).toEqual({ status: 'succeeded' });
    const outputs = (await server.api('GET', `jobs/${job.id}/outputs`, { token })).body.outputs;
    expect(outputs).toEqual([{ path: 'model/weights.bin', size: 7, sha256: expect.any(String) }]);
    const file = await fetch(`${server.url}/tandem/api/jobs/${job.id}/outputs/model/weights.bin`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await file.text()).toBe('weights');
  });

  it('events long-poll: a follower waiting on the cursor gets the next event as it is appended', async () => {
    const { submit, claimNext, worker, token } = await owner();
    const job = await submit();
    const claimed = await claimNext();
    const { body: first } = await server.api('GET', `jobs/${job.id}/events`, { token });
    const cursor = first.events.at(-1).id;
    const follow = (waitMs: number) => server.api('GET', `jobs/${job.id}/events?after=${cursor}&waitMs=${waitMs}`, { token });

    // With nothing new, the follower waits its waitMs (at least) and gets nothing.
    const idleSince = Date.now();
    expect((await follow(1000)).body.events).toEqual([]);
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(950);

    // A parked follower is answered by the next append, long before its own 30 s run out.
    const parked = subscriptions();
    try {
      const waiting = follow(30_000);
      await expect.poll(parked.count, { timeout: 10_000 }).toBeGreaterThan(0);
      const appended = Date.now();
      await worker.events(claimed, [{ type: 'log', data: { stream: 'stdout', line: 'late line' } }]);
      const { body } = await waiting;
      expect(body.events.map((e: any) => e.data.line)).toEqual(['late line']);
      expect(Date.now() - appended).toBeLessThan(15_000);
    } finally {
      parked.restore();
    }
    await worker.complete(claimed, { status: 'succeeded' });
  }, 60_000);

  it('other users see neither the job nor its events', async () => {
    const job = await submit();
    const carol = await owner();
    expect((await server.api('GET', `jobs/${job.id}`, { token: carol.token })).status).toBe(404);
    expect((await server.api('GET', `jobs/${job.id}/events`, { token: carol.token })).status).toBe(404);
    expect((await server.api('GET', 'jobs', { token: carol.token })).body.jobs).toEqual([]);
    await server.api('POST', `jobs/${job.id}/cancel`, { token: alice.token });
  });

  it('lists with status, kind and name filters', async () => {
    const { submit, token } = await owner();
    const job = await submit(inlineJob('x', { name: 'needle-job' }));
    const other = await submit(inlineJob('x', { name: 'haystack-job' }));
    const list = (q: string) => server.api('GET', `jobs?${q}`, { token }).then((r) => r.body.jobs.map((j: any) => j.id));
    expect(await list('')).toEqual(expect.arrayContaining([job.id, other.id]));
    expect(await list('q=needle')).toEqual([job.id]);
    expect(await list('q=needle&status=running')).toEqual([]);
    expect(await list('q=needle&kind=spark')).toEqual([]);
    expect(await list('q=needle&kind=gpu&status=queued')).toEqual([job.id]);
  });

  describe('cancel', () => {
    it('cancels a queued job at once', async () => {
      const { submit, worker, name, token } = await owner();
      const job = await submit();
      const res = await server.api('POST', `jobs/${job.id}/cancel`, { token });
      expect(res.body).toMatchObject({ status: 'cancelled', error: `cancelled by ${name}` });
      expect((await server.api('POST', `jobs/${job.id}/cancel`, { token })).status).toBe(409);
      expect(await worker.claim(LEASE_MS, 0)).toBeUndefined();
    });

    it('asks the worker of a running job through its heartbeat, then records cancelled', async () => {
      const { submit, claimNext, worker, get, token } = await owner();
      const job = await submit();
      const claimed = await claimNext();
      const res = await server.api('POST', `jobs/${job.id}/cancel`, { token });
      expect(res.body).toMatchObject({ status: 'running', cancelRequested: true });
      const beat = await worker.heartbeat(LEASE_MS, [{ jobId: job.id, attempt: claimed.attempt }]);
      expect(beat).toEqual({ cancel: [job.id], lost: [] });
      await worker.complete(claimed, { status: 'cancelled' });
      expect((await get(job.id)).status).toBe('cancelled');
    });
  });

  describe('leases', () => {
    /** Claims until the expired lease has put the job back in the queue (each claim reaps expired leases first). */
    const claimAgain = async (client: WorkerClient): Promise<ClaimedJob> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const job = await client.claim(LEASE_MS, 500);
        if (job) return job;
        if (Date.now() > deadline) throw new Error('the job was not requeued within 30 s of its lease');
      }
    };

    it('an expired lease requeues the job with the next attempt; the old attempt is fenced off', async () => {
      const { submit, claimNext, worker, token } = await owner();
      const job = await submit(inlineJob('x', { maxAttempts: 2 }));
      const first = await claimNext(1000);
      expect(first).toMatchObject({ id: job.id, attempt: 1 });
      const second = await claimAgain(worker);
      expect(second).toMatchObject({ id: job.id, attempt: 2 });
      await expect(worker.complete(first, { status: 'succeeded' })).rejects.toMatchObject({ status: 409 });
      await expect(worker.events(first, [{ type: 'log', data: { stream: 'stdout', line: 'zombie' } }])).rejects.toMatchObject({
        status: 409,
      });
      expect(await worker.heartbeat(LEASE_MS, [{ jobId: job.id, attempt: 1 }])).toEqual({ cancel: [], lost: [job.id] });
      await worker.complete(second, { status: 'succeeded' });
      const { body } = await server.api('GET', `jobs/${job.id}/events?types=log`, { token });
      expect(body.events.map((e: any) => e.data.line)).toEqual([
        expect.stringMatching(/worker lost \(lease expired\) during attempt 1 of 2: retrying/),
      ]);
    }, 60_000);

    it('fails the job once the last attempt’s lease expires', async () => {
      const { submit, claimNext, worker, get } = await owner();
      const job = await submit(inlineJob('x', { maxAttempts: 1 }));
      await claimNext(1000);
      // The server's reaper (or any claim) ends it; it never comes back to the queue.
      await expect.poll(async () => (await get(job.id)).status, { timeout: 30_000, interval: 250 }).not.toBe('running');
      expect(await get(job.id)).toMatchObject({ status: 'failed', error: 'worker lost (lease expired) during attempt 1 of 1' });
      expect(await worker.claim(LEASE_MS, 0)).toBeUndefined();
    }, 60_000);

    it('heartbeats keep a lease alive past its first expiry', async () => {
      const leaseMs = 4000;
      const { submit, claimNext, worker, get } = await owner();
      const job = await submit();
      const claimed = await claimNext(leaseMs);
      const firstExpiry = new Date((await get(job.id)).leaseExpiresAt).getTime();
      expect(firstExpiry).toBeGreaterThan(Date.now() - 1000);
      // Well past the first expiry, beating 20 times per lease.
      while (Date.now() < firstExpiry + 1000) {
        expect(await worker.heartbeat(leaseMs, [{ jobId: job.id, attempt: 1 }])).toEqual({ cancel: [], lost: [] });
        await sleep(leaseMs / 20);
      }
      expect(await worker.claim(leaseMs, 0)).toBeUndefined();
      const held = await get(job.id);
      expect(held).toMatchObject({ status: 'running', attempt: 1 });
      expect(new Date(held.leaseExpiresAt).getTime()).toBeGreaterThan(firstExpiry);
      await worker.complete(claimed, { status: 'succeeded' });
      expect(await get(job.id)).toMatchObject({ status: 'succeeded', attempt: 1 });
    });
  });

  it('a waiting claim is answered as soon as a job is submitted', async () => {
    const { submit, worker } = await owner();
    // With nothing queued, a claim waits its waitMs (at least) and gets nothing.
    const idleSince = Date.now();
    expect(await worker.claim(LEASE_MS, 1000)).toBeUndefined();
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(950);

    // A parked claim is answered by the next submit, long before its own 30 s run out.
    const parked = subscriptions();
    try {
      const claiming = worker.claim(LEASE_MS, 30_000);
      await expect.poll(parked.count, { timeout: 10_000 }).toBeGreaterThan(0);
      const submitted = Date.now();
      const job = await submit();
      const claimed = await claiming;
      expect(claimed?.id).toBe(job.id);
      expect(Date.now() - submitted).toBeLessThan(15_000);
      await worker.complete(claimed!, { status: 'succeeded' });
    } finally {
      parked.restore();
    }
  }, 60_000);

  it('retry runs a failed job again as a new job with the same spec', async () => {
    const { submit, claimNext, worker, token } = await owner();
    const job = await submit(inlineJob('raise SystemExit(3)'));
    const claimed = await claimNext();
    await worker.complete(claimed, { status: 'failed', error: 'exit 3' });
    expect((await server.api('POST', `jobs/${job.id}/retry`, { token })).status).toBe(201);
    const again = await claimNext();
    expect(again).toMatchObject({ spec: job.spec, attempt: 1 });
    expect(again.id).not.toBe(job.id);
    await worker.complete(again, { status: 'succeeded' });
  });

  it('a registering job succeeds only with a committed model version carrying its lineage', async () => {
    const { submit, claimNext, worker, get, name, token } = await owner();
    const job = await submit(inlineJob('x', { register: { model: 'job-model' }, notebook: 'nb/train.ipynb' }));
    const claimed = await claimNext();
    await worker.upload(claimed, 'model.onnx', bytes('onnx-bytes'));
    await worker.complete(claimed, { status: 'succeeded', metrics: { auc: 0.91 } });
    expect(await get(job.id)).toMatchObject({ status: 'succeeded', result: { model: 'job-model', version: 1 } });
    const version = (await server.api('GET', 'models/job-model/versions/1', { token })).body;
    expect(version).toMatchObject({
      metrics: { auc: 0.91 },
      lineage: { jobId: job.id, notebook: 'nb/train.ipynb', author: name, source: 'gpu:script' },
    });
  });

  it('a registering job without outputs fails with the reason', async () => {
    const { submit, claimNext, worker, get } = await owner();
    const job = await submit(inlineJob('x', { register: { model: 'empty-model' } }));
    await worker.complete(await claimNext(), { status: 'succeeded' });
    const done = await get(job.id);
    expect(done).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/registering model empty-model failed: .*no output files/),
    });
  });
});
