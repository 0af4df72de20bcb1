import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploy, linear, predict, registerOnnx } from './onnx.js';

const ROW = { rows: [{ features: [1, 1, 1] }] };

describe('who may call a deployment', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let prod: { id: string };
  let staging: { id: string };
  let prodKey: { key: { id: string; prefix: string }; secret: string };

  beforeAll(async () => {
    server = await startTestServer();
    for (const name of ['owner', 'editor', 'viewer', 'stranger']) tokens[name] = (await server.user(name)).token;
    await registerOnnx(server, 'scorer', linear([1, 1, 1], 0), { token: tokens.owner });
    for (const alias of ['prod', 'staging'])
      await server.api('PUT', `models/scorer/aliases/${alias}`, { token: tokens.owner, body: { version: 1 } });
    await server.api('PUT', 'models/scorer/grants', { token: tokens.owner, body: { type: 'user', name: 'editor', role: 'editor' } });
    await server.api('PUT', 'models/scorer/grants', { token: tokens.owner, body: { type: 'user', name: 'viewer', role: 'viewer' } });
    prod = await deploy(server, 'owner/scorer', 'prod', { token: tokens.editor, version: 1 });
    staging = await deploy(server, 'owner/scorer', 'staging', { token: tokens.owner, version: 1 });
    const created = await server.api('POST', `deployments/${prod.id}/keys`, { token: tokens.editor, body: { name: 'checkout app' } });
    expect(created.status).toBe(201);
    prodKey = created.body;
    // The stranger has a private model of the same name, deployed too.
    await registerOnnx(server, 'scorer', linear([0, 0, 0], 7), { token: tokens.stranger });
    await server.api('PUT', 'models/scorer/aliases/prod', { token: tokens.stranger, body: { version: 1 } });
    await deploy(server, 'scorer', 'prod', { token: tokens.stranger, version: 1 });
  });
  afterAll(() => server.stop());

  it('viewers of the model predict with their own token; a bare name means their own model first', async () => {
    expect((await predict(server, 'owner%2Fscorer/prod/predict', ROW, tokens.viewer)).body.predictions).toEqual([3]);
    expect((await predict(server, 'scorer/prod/predict', ROW, tokens.viewer)).body.predictions).toEqual([3]);
    expect((await predict(server, 'scorer/prod/predict', ROW, tokens.stranger)).body.predictions).toEqual([7]);
  });

  it('taking the viewer role away refuses the next prediction', async () => {
    const temp = await server.user('temp');
    const grant = (role: string | null) =>
      server.api('PUT', 'models/scorer/grants', { token: tokens.owner, body: { type: 'user', name: 'temp', role } });
    await grant('viewer');
    expect((await predict(server, 'owner%2Fscorer/prod/predict', ROW, temp.token)).status).toBe(200);
    expect((await grant(null)).status).toBe(200);
    expect((await predict(server, 'owner%2Fscorer/prod/predict', ROW, temp.token)).status).toBe(404);
  });

  it('another user’s private model answers 404, as one that does not exist', async () => {
    const res = await predict(server, 'stranger%2Fscorer/prod/predict', ROW, tokens.viewer);
    expect(res.status).toBe(404);
    expect(res.body.error.message).not.toMatch(/deploy/);
    expect((await server.api('GET', '/tandem/serve/stranger%2Fscorer/prod/ready', { token: tokens.viewer })).status).toBe(404);
    expect((await server.api('GET', `deployments/${prod.id}`, { token: tokens.stranger })).status).toBe(404);
  });

  it('no token is a 401, a worker token a 403', async () => {
    expect((await predict(server, 'owner%2Fscorer/prod/predict', ROW, null)).status).toBe(401);
    const worker = await server.api('POST', 'tokens', { body: { name: 'agent', kind: 'worker' } });
    expect(worker.status).toBe(201);
    const res = await predict(server, 'owner%2Fscorer/prod/predict', ROW, worker.body.token);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
  });

  it('a deployment key calls its deployment, by bare or qualified name, and is shown only once', async () => {
    expect(prodKey.secret).toMatch(/^tdk_/);
    expect(prodKey.key.prefix).toBe(prodKey.secret.slice(0, 8));
    expect((await predict(server, 'owner%2Fscorer/prod/predict', ROW, prodKey.secret)).body).toEqual({ predictions: [3], version: 1 });
    expect((await predict(server, 'scorer/prod/predict', ROW, prodKey.secret)).body.predictions).toEqual([3]);
    expect((await server.api('GET', '/tandem/serve/scorer/prod/ready', { token: prodKey.secret })).status).toBe(200);
    const { body } = await server.api('GET', `deployments/${prod.id}/keys`, { token: tokens.editor });
    expect(body.items).toEqual([expect.objectContaining({ id: prodKey.key.id, name: 'checkout app', prefix: prodKey.key.prefix })]);
    expect(JSON.stringify(body)).not.toContain(prodKey.secret);
  });

  it('a key of one deployment is refused on another deployment, a pinned version and another model', async () => {
    expect((await predict(server, 'owner%2Fscorer/staging/predict', ROW, prodKey.secret)).status).toBe(403);
    expect((await predict(server, 'owner%2Fscorer/versions/1/predict', ROW, prodKey.secret)).status).toBe(403);
    expect((await predict(server, 'stranger%2Fscorer/prod/predict', ROW, prodKey.secret)).status).toBe(403);
  });

  it('a key signs nobody in to the API, and a made-up key is a 401', async () => {
    expect((await server.api('GET', 'models', { token: prodKey.secret })).status).toBe(401);
    expect((await predict(server, 'owner%2Fscorer/prod/predict', ROW, `tdk_${'x'.repeat(43)}`)).status).toBe(401);
  });

  it('only editors manage keys and deployments; viewers see them', async () => {
    expect((await server.api('POST', `deployments/${prod.id}/keys`, { token: tokens.viewer, body: {} })).status).toBe(403);
    expect((await server.api('GET', `deployments/${prod.id}/keys`, { token: tokens.viewer })).status).toBe(403);
    expect((await server.api('PATCH', `deployments/${prod.id}`, { token: tokens.viewer, body: { maxWaitMs: 1 } })).status).toBe(403);
    expect((await server.api('DELETE', `deployments/${staging.id}`, { token: tokens.viewer })).status).toBe(403);
    expect(
      (await server.api('POST', 'deployments', { token: tokens.viewer, body: { model: 'owner/scorer', alias: 'canary' } })).status,
    ).toBe(403);
    expect((await server.api('GET', `deployments/${prod.id}`, { token: tokens.viewer })).status).toBe(200);
    const list = await server.api('GET', 'deployments', { token: tokens.viewer });
    expect(list.body.items.map((d: { model: string; alias: string }) => `${d.model}:${d.alias}`).sort()).toEqual([
      'owner/scorer:prod',
      'owner/scorer:staging',
    ]);
  });

  it('a revoked key is a 401 at once', async () => {
    const other = (await server.api('POST', `deployments/${prod.id}/keys`, { token: tokens.owner, body: {} })).body;
    expect((await predict(server, 'scorer/prod/predict', ROW, other.secret)).status).toBe(200);
    expect((await server.api('DELETE', `deployments/${prod.id}/keys/${other.key.id}`, { token: tokens.editor })).status).toBe(204);
    const res = await predict(server, 'scorer/prod/predict', ROW, other.secret);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
    expect((await predict(server, 'scorer/prod/predict', ROW, prodKey.secret)).status).toBe(200);
    expect((await server.api('DELETE', `deployments/${prod.id}/keys/${other.key.id}`, { token: tokens.editor })).status).toBe(404);
  });

  it('deleting a deployment ends its keys', async () => {
    const key = (await server.api('POST', `deployments/${staging.id}/keys`, { token: tokens.owner, body: {} })).body;
    expect((await predict(server, 'scorer/staging/predict', ROW, key.secret)).status).toBe(200);
    expect((await server.api('DELETE', `deployments/${staging.id}`, { token: tokens.editor })).status).toBe(204);
    expect((await predict(server, 'scorer/staging/predict', ROW, key.secret)).status).toBe(401);
  });
});
