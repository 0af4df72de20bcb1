import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually, linear, predict, registerOnnx, servedVersion } from './onnx.js';

// The deployments API on both databases (PGlite is the embedded default, PostgreSQL the team one).
describe.each(['postgres', 'pglite'] as const)('the deployments API on %s', (db) => {
  let server: TestServer;
  let owner: string;

  beforeAll(async () => {
    server = await startTestServer({ db });
    owner = (await server.user('ana')).token;
    await registerOnnx(server, 'churn', linear([1, 0, 0], 0), { token: owner });
    await registerOnnx(server, 'churn', linear([0, 1, 0], 0), { token: owner });
    await server.api('PUT', 'models/churn/aliases/prod', { token: owner, body: { version: 1 } });
  });
  afterAll(() => server.stop());

  it('creates a deployment with default settings that serves the alias, and shows its status', async () => {
    const created = await server.api('POST', 'deployments', { token: owner, body: { model: 'churn', alias: 'prod' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      model: 'ana/churn',
      alias: 'prod',
      aliasVersion: 1,
      maxBatchSize: 64,
      maxWaitMs: 0,
      queueLimit: 1000,
      timeoutMs: 10000,
      endpoint: '/tandem/serve/ana%2Fchurn/prod/predict',
    });
    expect(['loading', 'ready']).toContain(created.body.status.state);
    const ready = await servedVersion(server, created.body.id, 1, owner);
    expect(ready.status).toEqual({ state: 'ready', servedVersion: 1, loadingVersion: null, lastError: null });
    expect((await predict(server, 'ana%2Fchurn/prod/predict', { rows: [{ features: [2, 3, 4] }] }, owner)).body.predictions).toEqual([2]);
  });

  it('refuses a second deployment of the same alias, bad settings and unknown models', async () => {
    const again = await server.api('POST', 'deployments', { token: owner, body: { model: 'churn', alias: 'prod' } });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/alias prod of model ana\/churn is already deployed/);
    for (const body of [
      { model: 'churn', alias: 'x', maxBatchSize: 0 },
      { model: 'churn', alias: 'x', timeoutMs: -1 },
      { model: 'churn', alias: 'x', colour: 'red' },
      { model: 'churn', alias: '../x' },
      { model: 'churn' },
    ]) {
      expect((await server.api('POST', 'deployments', { token: owner, body })).status, JSON.stringify(body)).toBe(400);
    }
    expect((await server.api('POST', 'deployments', { token: owner, body: { model: 'nope', alias: 'prod' } })).status).toBe(404);
    expect((await server.api('GET', 'deployments/00000000-0000-4000-8000-000000000000', { token: owner })).status).toBe(404);
    expect((await server.api('GET', 'deployments/not-a-uuid', { token: owner })).status).toBe(400);
  });

  it('lists deployments, filtered by model, and changes settings', async () => {
    await registerOnnx(server, 'other', linear([1, 1, 1], 0), { token: owner });
    const other = await server.api('POST', 'deployments', { token: owner, body: { model: 'other', alias: 'prod', maxWaitMs: 5 } });
    expect(other.status).toBe(201);
    expect(other.body.status).toMatchObject({ state: 'unavailable', servedVersion: null });
    expect(other.body.status.lastError.message).toMatch(/alias prod of model ana\/other points at no version/);
    const all = await server.api('GET', 'deployments', { token: owner });
    expect(all.body.total).toBe(2);
    const filtered = await server.api('GET', 'deployments?model=other', { token: owner });
    expect(filtered.body.items.map((d: { id: string }) => d.id)).toEqual([other.body.id]);
    const page = await server.api('GET', 'deployments?limit=1', { token: owner });
    expect(page.body.items).toHaveLength(1);
    expect(page.body.nextPageToken).toBeDefined();
    const patched = await server.api('PATCH', `deployments/${other.body.id}`, { token: owner, body: { queueLimit: 5 } });
    expect(patched.body).toMatchObject({ queueLimit: 5, maxWaitMs: 5, maxBatchSize: 64 });
    expect((await server.api('PATCH', `deployments/${other.body.id}`, { token: owner, body: { queueLimit: 0 } })).status).toBe(400);
  });

  it('deleting a deployment stops serving its alias', async () => {
    const { body } = await server.api('GET', 'deployments?model=other', { token: owner });
    expect((await server.api('DELETE', `deployments/${body.items[0].id}`, { token: owner })).status).toBe(204);
    expect((await server.api('GET', `deployments/${body.items[0].id}`, { token: owner })).status).toBe(404);
    expect((await predict(server, 'other/prod/predict', { rows: [{ features: [1, 1, 1] }] }, owner)).status).toBe(404);
  });

  it('records deployment changes in the audit log', async () => {
    const audit = await server.api('GET', 'audit?limit=200');
    const actions = (audit.body.items as { action: string }[]).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['deployment.create', 'deployment.update', 'deployment.delete']));
  });

  it('picks up deployments and aliases from the database when it starts', async () => {
    // A restart of the server process: the deployment is loaded again from what is stored.
    const { body } = await server.api('GET', 'deployments?model=churn', { token: owner });
    const service = server.ctx.shared((await import('../../src/serving/serving.service.js')).createServingService);
    await service.close();
    // Closed: this process serves nothing (the same service the routes use).
    expect((await server.api('GET', `deployments/${body.items[0].id}`, { token: owner })).body.status.state).toBe('unavailable');
    await service.start();
    await servedVersion(server, body.items[0].id, 1, owner);
  });
});

describe('two server processes on one database', () => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    a = await startTestServer({ store: 'minio' });
    // B shares A's database and bucket, as replicas of one team server do.
    b = await startTestServer({
      store: 'minio',
      env: { TANDEM_DATABASE_URL: a.ctx.config.databaseUrl!, TANDEM_S3_BUCKET: a.ctx.config.s3!.bucket },
    });
  });
  afterAll(async () => {
    await b.stop();
    await a.stop();
  });

  it('a deployment made through one serves on the other, and follows alias moves made through the other', async () => {
    const token = a.adminToken;
    await registerOnnx(a, 'shared', linear([0, 0, 0], 1), { token });
    await registerOnnx(a, 'shared', linear([0, 0, 0], 2), { token });
    await a.api('PUT', 'models/shared/aliases/prod', { body: { version: 1 } });
    const created = await b.api('POST', 'deployments', { token, body: { model: 'shared', alias: 'prod' } });
    expect(created.status).toBe(201);
    // A learns of it at the first request naming it.
    await eventually(async () => (await predict(a, 'shared/prod/predict', { rows: [{ features: [0, 0, 0] }] }, token)).status === 200);
    await b.api('PUT', 'models/shared/aliases/prod', { token, body: { version: 2 } });
    // B saw its own event; A sees the move at its next reconcile (periodic; run here at once).
    await servedVersion(b, created.body.id, 2, token);
    const service = a.ctx.shared((await import('../../src/serving/serving.service.js')).createServingService);
    await service.reconcile();
    await servedVersion(a, created.body.id, 2, token);
    expect((await predict(a, 'shared/prod/predict', { rows: [{ features: [0, 0, 0] }] }, token)).body).toEqual({
      predictions: [2],
      version: 2,
    });
  });

  it('a key made through one works on the other, for a deployment it has not served yet', async () => {
    await a.api('PUT', 'models/shared/aliases/beta', { body: { version: 1 } });
    const created = await b.api('POST', 'deployments', { body: { model: 'shared', alias: 'beta' } });
    const key = (await b.api('POST', `deployments/${created.body.id}/keys`, { body: {} })).body;
    await eventually(async () => (await predict(a, 'shared/beta/predict', { rows: [{ features: [0, 0, 0] }] }, key.secret)).status === 200);
  });
});
