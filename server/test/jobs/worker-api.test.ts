import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimedJob, WorkerClient } from '../../src/worker/worker.client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { bytes, inlineJob, registeredWorker, workerToken } from './support.js';

type User = { id: string; token: string };

/** A raw request, so that paths reach the server exactly as written (fetch would resolve `..`). */
function rawRequest(
  server: TestServer,
  method: string,
  path: string,
  token: string,
  body = '',
  contentType = 'application/octet-stream',
): Promise<{ status: number; body: any }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode!, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the worker API', () => {
  let server: TestServer;
  let count = 0;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
  });
  afterAll(() => server.stop());

  /** A fresh person with their own worker, so no test claims another test's jobs. */
  const person = async (): Promise<{ user: User; worker: WorkerClient; workerToken: string }> => {
    const user = await server.user(`person-${++count}`);
    const token = await workerToken(server, user.token);
    return { user, worker: await registeredWorker(server, ['gpu'], token), workerToken: token };
  };
  const submit = async (user: User, body: unknown = inlineJob()) => {
    const res = await server.api('POST', 'jobs', { token: user.token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string };
  };
  const job = async (user: User, id: string) => (await server.api('GET', `jobs/${id}`, { token: user.token })).body;
  const claimed = async (worker: WorkerClient, leaseMs = 60_000): Promise<ClaimedJob> => {
    const next = await worker.claim(leaseMs, 5000);
    expect(next).toBeDefined();
    return next!;
  };

  describe('a worker is driven only with its owner’s worker tokens', () => {
    let alice: Awaited<ReturnType<typeof person>>;
    let bobsToken: string;
    let running: ClaimedJob;

    beforeAll(async () => {
      alice = await person();
      bobsToken = await workerToken(server, (await server.user('bob')).token);
      await submit(alice.user);
      running = await claimed(alice.worker);
    });

    const lease = () => `workers/${alice.worker.workerId}/jobs/${running.id}/${running.attempt}`;
    const calls = (): [string, string, unknown][] => [
      ['POST', `workers/${alice.worker.workerId}/claim`, { leaseMs: 60_000, waitMs: 0 }],
      ['POST', `workers/${alice.worker.workerId}/heartbeat`, { leaseMs: 60_000, leases: [{ jobId: running.id, attempt: 1 }] }],
      ['POST', `${lease()}/events`, { events: [{ type: 'log', data: { stream: 'stdout', line: 'intruder' } }] }],
      ['POST', `${lease()}/complete`, { status: 'failed', error: 'intruder' }],
    ];

    it('another person’s worker token gets NOT_FOUND on claim, heartbeat, events and complete', async () => {
      for (const [method, path, body] of calls()) {
        const res = await server.api(method, path, { token: bobsToken, body });
        expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 404, code: 'NOT_FOUND' });
        expect(res.body.error.message).toMatch(/worker .* not found: register again/);
      }
    });

    it('another person’s worker token gets NOT_FOUND on output uploads and data downloads', async () => {
      const upload = await rawRequest(server, 'PUT', `/tandem/api/${lease()}/outputs/model.bin`, bobsToken, 'stolen');
      expect(upload).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
      const data = await server.api('GET', `${lease()}/data/${'a'.repeat(64)}`, { token: bobsToken });
      expect(data).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: expect.stringMatching(/^worker /) } } });
    });

    it('not even an admin’s worker token (team workers run everyone’s jobs) drives someone else’s worker', async () => {
      const adminWorkerToken = await workerToken(server);
      for (const [method, path, body] of calls()) {
        expect((await server.api(method, path, { token: adminWorkerToken, body })).status, path).toBe(404);
      }
    });

    it('an unknown worker id is NOT_FOUND even for its would-be owner', async () => {
      const res = await server.api('POST', 'workers/00000000-0000-4000-8000-000000000000/claim', {
        token: alice.workerToken,
        body: { waitMs: 0 },
      });
      expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    });

    it('the refused calls changed nothing: the owner’s worker still holds the job and finishes it', async () => {
      expect(await job(alice.user, running.id)).toMatchObject({ status: 'running', attempt: 1 });
      const logs = await server.api('GET', `jobs/${running.id}/events?types=log`, { token: alice.user.token });
      expect(logs.body.events).toEqual([]);
      expect((await server.api('GET', `jobs/${running.id}/outputs`, { token: alice.user.token })).body.outputs).toEqual([]);
      expect(await alice.worker.heartbeat(60_000, [{ jobId: running.id, attempt: 1 }])).toEqual({ cancel: [], lost: [] });
      await alice.worker.complete(running, { status: 'succeeded' });
      expect(await job(alice.user, running.id)).toMatchObject({ status: 'succeeded' });
    });
  });

  describe('retrying a job', () => {
    let owner: Awaited<ReturnType<typeof person>>;
    let viewer: User;
    let outsider: User;

    beforeAll(async () => {
      owner = await person();
      viewer = await server.user('retry-viewer');
      outsider = await server.user('retry-outsider');
    });

    const retry = (id: string, token: string) => server.api('POST', `jobs/${id}/retry`, { token });
    /** There is no sharing route for jobs yet: grant the role the way features do. */
    const grantViewer = (id: string) => server.ctx.permissions.grant('job', id, { type: 'user', id: viewer.id }, 'viewer');
    const jobCount = async () => (await server.api('GET', 'jobs', { token: owner.user.token })).body.total as number;

    it('a queued job cannot be retried: 409 naming its status', async () => {
      const queued = await submit(owner.user);
      const before = await jobCount();
      const res = await retry(queued.id, owner.user.token);
      expect(res).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT', message: expect.stringMatching(/is still queued/) } } });
      expect(await jobCount()).toBe(before);
      await server.api('POST', `jobs/${queued.id}/cancel`, { token: owner.user.token });
    });

    it('a running job cannot be retried: 409 naming its status', async () => {
      await submit(owner.user);
      const running = await claimed(owner.worker);
      const res = await retry(running.id, owner.user.token);
      expect(res).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT', message: expect.stringMatching(/is still running/) } } });
      await owner.worker.complete(running, { status: 'cancelled' });
    });

    it('a cancelled job can be retried as a new queued job', async () => {
      const queued = await submit(owner.user, inlineJob('print("again")', { name: 'retry me' }));
      await server.api('POST', `jobs/${queued.id}/cancel`, { token: owner.user.token });
      const res = await retry(queued.id, owner.user.token);
      expect(res).toMatchObject({ status: 201, body: { status: 'queued', name: 'retry me', spec: { script: 'print("again")' } } });
      expect(res.body.id).not.toBe(queued.id);
      await server.api('POST', `jobs/${res.body.id}/cancel`, { token: owner.user.token });
    });

    it('a viewer of a finished job cannot retry it (403), and an outsider does not learn it exists (404)', async () => {
      const done = await submit(owner.user);
      await server.api('POST', `jobs/${done.id}/cancel`, { token: owner.user.token });
      await grantViewer(done.id);
      expect(await job(viewer, done.id)).toMatchObject({ id: done.id, status: 'cancelled' });
      const before = await jobCount();
      expect(await retry(done.id, viewer.token)).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
      expect(await retry(done.id, outsider.token)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
      expect(await jobCount()).toBe(before);
      expect((await server.api('GET', 'jobs', { token: viewer.token })).body.jobs.map((j: any) => j.id)).toEqual([done.id]);
    });
  });

  describe('output uploads', () => {
    let owner: Awaited<ReturnType<typeof person>>;
    let running: ClaimedJob;

    beforeAll(async () => {
      owner = await person();
      await submit(owner.user);
      running = await claimed(owner.worker);
    });
    afterAll(async () => {
      await owner.worker.complete(running, { status: 'succeeded' }).catch(() => undefined);
    });

    const outputsPath = (worker: WorkerClient, j: ClaimedJob) => `/tandem/api/workers/${worker.workerId}/jobs/${j.id}/${j.attempt}/outputs`;
    const put = (rest: string, worker = owner.worker, j = running, token = owner.workerToken) =>
      rawRequest(server, 'PUT', `${outputsPath(worker, j)}/${rest}`, token, 'bytes');
    const outputs = async (id = running.id) =>
      ((await server.api('GET', `jobs/${id}/outputs`, { token: owner.user.token })).body.outputs as { path: string }[]).map((o) => o.path);

    it('accepts ordinary nested paths of up to 16 segments', async () => {
      expect(await put('model/weights-v1.2_final@best=1+x.bin')).toMatchObject({
        status: 200,
        body: { path: 'model/weights-v1.2_final@best=1+x.bin', size: 5 },
      });
      const deep = Array.from({ length: 16 }, (_, i) => `d${i}`).join('/');
      expect(await put(deep)).toMatchObject({ status: 200, body: { path: deep } });
    });

    const refused: [string, string][] = [
      ['a literal .. segment', 'model/../../escape.bin'],
      ['an encoded .. segment', 'model/%2E%2E/escape.bin'],
      ['a lone .. segment', '..'],
      ['a leading dot', '.env'],
      ['a leading dot in a folder', 'model/.hidden/x.bin'],
      ['a space', 'my%20model.bin'],
      ['an encoded slash inside a segment', 'a%2F..%2Fb'],
      ['a backslash', 'a%5Cb.bin'],
      ['a colon', 'c:x.bin'],
      ['a tilde', '~root'],
      ['a NUL byte', 'x%00.bin'],
      ['17 segments', Array.from({ length: 17 }, (_, i) => `d${i}`).join('/')],
    ];
    for (const [what, rest] of refused) {
      it(`refuses a path with ${what} at the edge (400 naming params.path, nothing stored)`, async () => {
        const res = await put(rest);
        expect({ rest, status: res.status, code: res.body?.error?.code }).toEqual({ rest, status: 400, code: 'INVALID_ARGUMENT' });
        // The route's own rule answers, not the artifact store's key check behind it.
        expect(res.body.error.message).toMatch(/^params\.path/);
      });
    }

    it('stored only the accepted files', async () => {
      expect((await outputs()).sort()).toEqual(
        [Array.from({ length: 16 }, (_, i) => `d${i}`).join('/'), 'model/weights-v1.2_final@best=1+x.bin'].sort(),
      );
    });

    it('only the worker holding the lease may upload: another worker of the same owner gets 409', async () => {
      const second = await registeredWorker(server, ['gpu'], owner.workerToken);
      const res = await put('from-second.bin', second);
      expect(res).toMatchObject({
        status: 409,
        body: { error: { code: 'CONFLICT', message: expect.stringMatching(/no longer leased to this worker/) } },
      });
      await expect(second.upload(running, 'from-second.bin', bytes('x'))).rejects.toMatchObject({ status: 409 });
      expect(await outputs()).not.toContain('from-second.bin');
    });

    it('an upload for an attempt whose lease moved on is a 409; the new attempt uploads', async () => {
      const mover = await person();
      const first = await submit(mover.user, inlineJob('x', { maxAttempts: 2 }));
      const attempt1 = await claimed(mover.worker, 1000);
      // Wait for the lease to lapse and the job to be claimed again (claim requeues expired jobs).
      let attempt2: ClaimedJob | undefined;
      for (const deadline = Date.now() + 60_000; !attempt2 && Date.now() < deadline;) {
        attempt2 = await mover.worker.claim(60_000, 1000);
      }
      expect(attempt2).toMatchObject({ id: first.id, attempt: 2 });
      const late = await put('late.bin', mover.worker, attempt1, mover.workerToken);
      expect(late).toMatchObject({
        status: 409,
        body: { error: { message: `job ${first.id} attempt 1 is no longer leased to this worker` } },
      });
      expect(await put('fresh.bin', mover.worker, attempt2!, mover.workerToken)).toMatchObject({ status: 200 });
      await mover.worker.complete(attempt2!, { status: 'succeeded' });
      // After the outcome, not even the last lease holder may add files.
      expect(await put('after.bin', mover.worker, attempt2!, mover.workerToken)).toMatchObject({ status: 409 });
      const listed = (await server.api('GET', `jobs/${first.id}/outputs`, { token: mover.user.token })).body.outputs;
      expect(listed.map((o: any) => o.path)).toEqual(['fresh.bin']);
    });
  });
});
