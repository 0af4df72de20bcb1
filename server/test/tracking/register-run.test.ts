import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerToken } from '../jobs/support.js';
import { upload } from '../models/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('POST /runs/:id/register: a run’s artifact becomes a model version', () => {
  let server: TestServer;
  const token: Record<'alice' | 'bob' | 'eve', string> = { alice: '', bob: '', eve: '' };
  let experiment: string;
  let run: string;

  const as = (who: keyof typeof token) => ({ token: token[who] });
  const register = (id: string, body: unknown, auth: { token: string | null }) =>
    server.api('POST', `runs/${id}/register`, { ...auth, body });
  const newRun = async (who: keyof typeof token, experimentId: string, body: Record<string, unknown> = {}) => {
    const res = await server.api('POST', 'runs', { ...as(who), body: { experimentId, ...body } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    for (const name of ['alice', 'bob', 'eve'] as const) token[name] = (await server.user(name)).token;
    experiment = (await server.api('POST', 'experiments', { ...as('alice'), body: { name: 'churn' } })).body.id;
    // Bob views alice's experiment; eve sees nothing of it.
    await server.api('PUT', `experiments/${experiment}/grants`, { ...as('alice'), body: { type: 'user', name: 'bob', role: 'viewer' } });
    run = await newRun('alice', experiment, {
      name: 'gbm',
      notebook: 'tandem:nb-1',
      params: { lr: 0.1, depth: 4 },
      inputs: [
        { name: 'eval', digest: 'e1', context: 'eval' },
        { name: 'train', digest: 'd1', context: 'train' },
      ],
    });
    await server.api('POST', `runs/${run}/log`, {
      ...as('alice'),
      body: {
        metrics: [
          { key: 'auc', value: 0.91 },
          { key: 'loss', value: 'NaN' },
        ],
      },
    });
    for (const [file, content] of [
      ['model/model.onnx', 'weights'],
      ['model/meta/info.json', '{"v":1}'],
      ['notes.txt', 'notes'],
    ])
      expect((await upload(server, `runs/${run}/artifacts/${file}`, content, token.alice)).status).toBe(200);
  });
  afterAll(() => server.stop());

  it('copies a folder into a new version of a model it creates, with the run’s params, finite metrics and lineage, and tags the run', async () => {
    const res = await register(run, { model: 'churn', artifact: 'model' }, as('alice'));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      status: 'ready',
      number: 1,
      runId: run,
      params: { lr: '0.1', depth: '4' },
      metrics: { auc: 0.91 },
      lineage: { source: 'run:model', author: 'alice', notebook: 'tandem:nb-1', datasetFingerprint: 'd1' },
      files: [
        { path: 'meta/info.json', size: 7, sha256: sha('{"v":1}') },
        { path: 'model.onnx', size: 7, sha256: sha('weights') },
      ],
    });
    expect(res.body.files[0]).not.toHaveProperty('key');
    expect(res.body.metrics).not.toHaveProperty('loss');
    expect((await server.api('GET', 'models/alice%2Fchurn/versions/1', as('alice'))).body).toMatchObject({ runId: run });
    const file = await fetch(`${server.url}/tandem/api/models/churn/versions/1/files/model.onnx`, {
      headers: { authorization: `Bearer ${token.alice}` },
    });
    expect(await file.text()).toBe('weights');
    expect((await server.api('GET', `runs/${run}`, as('alice'))).body.tags).toMatchObject({ 'tandem.registeredModel': 'alice/churn:1' });
  });

  it('copies one file under its own name into the next version, and a viewer of the run may register it in their namespace', async () => {
    const next = await register(run, { model: 'alice/churn', artifact: 'model/model.onnx' }, as('alice'));
    expect(next).toMatchObject({ status: 201, body: { number: 2, runId: run, files: [{ path: 'model.onnx' }] } });
    const bobs = await register(run, { model: 'churn', artifact: 'notes.txt' }, as('bob'));
    expect(bobs).toMatchObject({ status: 201, body: { number: 1, runId: run, files: [{ path: 'notes.txt' }] } });
    expect((await server.api('GET', 'models/bob%2Fchurn', as('bob'))).body).toMatchObject({ owner: 'bob', latestVersion: 1 });
    expect((await server.api('GET', `runs/${run}`, as('alice'))).body.tags).toMatchObject({ 'tandem.registeredModel': 'bob/churn:1' });
  });

  it('answers 404 for a run the caller cannot see exactly as for a missing one, and creates nothing', async () => {
    const hidden = await register(run, { model: 'stolen', artifact: 'model' }, as('eve'));
    const missing = await register('0'.repeat(32), { model: 'stolen', artifact: 'model' }, as('eve'));
    expect(hidden).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: `run ${run} not found` } } });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: `run ${'0'.repeat(32)} not found` } } });
    // Eve's private run is as hidden from alice.
    const eves = await newRun('eve', (await server.api('POST', 'experiments', { ...as('eve'), body: { name: 'secret' } })).body.id);
    expect(await register(eves, { model: 'churn', artifact: 'x' }, as('alice'))).toMatchObject({ status: 404 });
    expect((await server.api('GET', 'models/stolen', as('eve'))).status).toBe(404);
  });

  it('refuses a viewer of the model (403) and leaves it unchanged', async () => {
    await server.api('PUT', 'models/alice%2Fchurn/grants', { ...as('alice'), body: { type: 'user', name: 'bob', role: 'viewer' } });
    const res = await register(run, { model: 'alice/churn', artifact: 'model' }, as('bob'));
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect((await server.api('GET', 'models/alice%2Fchurn', as('alice'))).body.latestVersion).toBe(2);
  });

  it('names a missing artifact in its 404, and refuses hostile paths and bad model names with 400', async () => {
    const missing = await register(run, { model: 'churn', artifact: 'weights/final' }, as('alice'));
    expect(missing).toMatchObject({
      status: 404,
      body: { error: { message: expect.stringContaining('artifact weights/final not found') } },
    });
    // A folder's name must be the whole segment: `mod` is not a prefix of `model/...`.
    expect((await register(run, { model: 'churn', artifact: 'mod' }, as('alice'))).status).toBe(404);
    for (const artifact of ['../../x', 'model/../notes.txt', '/etc/passwd', 'model/', './model', 'a\\b', '']) {
      const res = await register(run, { model: 'churn', artifact }, as('alice'));
      expect(res.status, artifact).toBe(400);
    }
    for (const model of ['../x', 'a/b/c', ''])
      expect((await register(run, { model, artifact: 'model' }, as('alice'))).status, model).toBe(400);
    expect((await server.api('GET', 'models/alice%2Fchurn', as('alice'))).body.latestVersion).toBe(2);
  });

  it('refuses worker tokens (403), revoked tokens and anonymous callers (401)', async () => {
    const worker = await workerToken(server, token.alice);
    expect(await register(run, { model: 'churn', artifact: 'model' }, { token: worker })).toMatchObject({ status: 403 });
    const laptop = (await server.api('POST', 'tokens', { ...as('alice'), body: { name: 'laptop' } })).body;
    expect((await server.api('DELETE', `tokens/${laptop.id}`, as('alice'))).status).toBe(204);
    expect(await register(run, { model: 'churn', artifact: 'model' }, { token: laptop.token })).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED' } },
    });
    expect((await register(run, { model: 'churn', artifact: 'model' }, { token: null })).status).toBe(401);
  });

  it('the upload API takes the run too: checked at start, recorded and tagged at commit', async () => {
    const other = await newRun('alice', experiment, { name: 'by upload' });
    const started = await server.api('POST', 'models/uploaded/uploads', { ...as('alice'), body: { createModel: true, run: other } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const base = `models/${encodeURIComponent(started.body.model)}/uploads/${started.body.uploadId}`;
    expect((await upload(server, `${base}/files/model.onnx`, 'w', token.alice)).status).toBe(200);
    expect(await server.api('POST', `${base}/commit`, as('alice'))).toMatchObject({ status: 201, body: { runId: other } });
    expect((await server.api('GET', `runs/${other}`, as('alice'))).body.tags).toMatchObject({
      'tandem.registeredModel': 'alice/uploaded:1',
    });

    const refused = await server.api('POST', 'models/uploaded/uploads', { ...as('eve'), body: { createModel: true, run: other } });
    expect(refused).toMatchObject({ status: 404, body: { error: { message: `run ${other} not found` } } });
    expect((await server.api('POST', 'models/uploaded/uploads', { ...as('alice'), body: { run: 'not-a-run' } })).status).toBe(400);
  });

  it('a soft-deleted run keeps its versions’ link, as it can be restored', async () => {
    const doomed = await newRun('alice', experiment, { name: 'doomed' });
    await upload(server, `runs/${doomed}/artifacts/model.onnx`, 'w', token.alice);
    expect((await register(doomed, { model: 'doomed', artifact: 'model.onnx' }, as('alice'))).status).toBe(201);
    expect((await server.api('DELETE', `runs/${doomed}`, as('alice'))).status).toBe(204);
    expect((await server.api('GET', 'models/doomed/versions/1', as('alice'))).body).toMatchObject({ runId: doomed });
  });

  it('is declared in the OpenAPI document for users', async () => {
    const { paths } = (await server.api('GET', 'openapi.json', { token: null })).body;
    expect(paths['/tandem/api/runs/{id}/register'].post['x-tandem-auth']).toBe('user');
  });
});
