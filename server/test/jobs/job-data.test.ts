import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemApiError } from '../../src/api/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { registeredWorker, workerToken } from './support.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const CSV = 'x,y\n1,2\n3,4\n';

describe('data uploaded for jobs', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  const put = (hash: string, text: string, token: string) =>
    fetch(`${server.url}/tandem/api/job-data/${hash}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: text,
    }).then(async (res) => ({ status: res.status, body: await res.json() }));
  const submitWith = (data: unknown, token: string) =>
    server.api('POST', 'jobs', { token, body: { kind: 'gpu', spec: { script: 'print(1)', gpus: 0, data: { table: data } } } });

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres', store: 'minio' });
    alice = await server.user('alice');
    bob = await server.user('bob');
  });
  afterAll(() => server?.stop());

  it('stores data under its sha256 and tells only the uploader that it is there', async () => {
    const hash = sha256(CSV);
    expect(await server.api('GET', `job-data/${hash}`, { token: alice.token })).toMatchObject({ status: 404 });
    expect(await put(hash, CSV, alice.token)).toEqual({ status: 200, body: { sha256: hash, size: CSV.length } });
    expect(await server.api('GET', `job-data/${hash}`, { token: alice.token })).toMatchObject({ status: 200, body: { size: CSV.length } });
    expect(await server.api('GET', `job-data/${hash}`, { token: bob.token })).toMatchObject({ status: 404 });
  });

  it('refuses bytes that do not hash to the sha256 in the path and stores nothing', async () => {
    const claimed = sha256('what alice says she sends');
    const res = await put(claimed, 'something else', alice.token);
    expect(res).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('sha256 mismatch') } },
    });
    expect(await server.api('GET', `job-data/${claimed}`, { token: alice.token })).toMatchObject({ status: 404 });
    expect(await submitWith({ sha256: claimed, name: 'x.csv' }, alice.token)).toMatchObject({ status: 400 });
  });

  it('rejects a path that is not a sha256', async () => {
    expect(await put('abc', CSV, alice.token)).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('sha256') } },
    });
  });

  it('lets a job name only data its submitter uploaded, and names the missing one', async () => {
    const ref = { sha256: sha256(CSV), name: 'table.csv' };
    expect(await submitWith(ref, alice.token)).toMatchObject({ status: 201 });
    const bobs = await submitWith(ref, bob.token);
    expect(bobs).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('data table.csv') } } });
    expect(await submitWith({ sha256: ref.sha256, name: '../escape.csv' }, alice.token)).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('spec.data.table.name') } },
    });
  });

  it('lets bob upload the same content himself, after which his jobs may use it', async () => {
    const hash = sha256(CSV);
    expect(await put(hash, CSV, bob.token)).toMatchObject({ status: 200 });
    expect(await submitWith({ sha256: hash, name: 'table.csv' }, bob.token)).toMatchObject({ status: 201 });
  });

  it('refuses a revoked token at once, and user tokens on the worker download', async () => {
    const laptop = await server.api('POST', 'tokens', { token: alice.token, body: { name: 'laptop' } });
    expect(laptop.status).toBe(201);
    expect(await server.api('GET', `job-data/${sha256(CSV)}`, { token: laptop.body.token })).toMatchObject({ status: 200 });
    expect((await server.api('DELETE', `tokens/${laptop.body.id}`, { token: alice.token })).status).toBe(204);
    expect(await server.api('GET', `job-data/${sha256(CSV)}`, { token: laptop.body.token })).toMatchObject({ status: 401 });
    expect(await put(sha256(CSV), CSV, laptop.body.token)).toMatchObject({ status: 401 });
    const lease = `workers/${crypto.randomUUID()}/jobs/${crypto.randomUUID()}/1/data/${sha256(CSV)}`;
    expect(await server.api('GET', lease, { token: alice.token })).toMatchObject({ status: 403 });
  });

  it('refuses worker tokens on the user data API', async () => {
    const token = await workerToken(server);
    expect(await put(sha256(CSV), CSV, token)).toMatchObject({ status: 403 });
    expect(await server.api('GET', `job-data/${sha256(CSV)}`, { token })).toMatchObject({ status: 403 });
  });

  it('hands the data to the worker holding the lease, and only data that job names', async () => {
    const other = 'a,b\n5,6\n';
    await put(sha256(other), other, alice.token);
    // Drain jobs queued by the tests above so the claim below takes this one.
    const worker = await registeredWorker(server, ['gpu']);
    for (let job = await worker.claim(5000, 0); job; job = await worker.claim(5000, 0)) {
      await worker.complete(job, { status: 'failed', error: 'drained' });
    }
    expect(await submitWith({ sha256: sha256(CSV), name: 'table.csv' }, alice.token)).toMatchObject({ status: 201 });
    const job = (await worker.claim(5000, 0))!;
    const text = async (stream: NodeJS.ReadableStream) => {
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks).toString();
    };
    expect(await text(await worker.data(job, sha256(CSV)))).toBe(CSV);
    await expect(worker.data(job, sha256(other))).rejects.toMatchObject({ status: 404 });

    const intruder = await registeredWorker(server, ['gpu']);
    await expect(intruder.data(job, sha256(CSV))).rejects.toBeInstanceOf(TandemApiError);
    await expect(intruder.data(job, sha256(CSV))).rejects.toMatchObject({ status: 409 });
    await worker.complete(job, { status: 'succeeded' });
    await expect(worker.data(job, sha256(CSV))).rejects.toMatchObject({ status: 409 });
  });
});
