import { TandemApiError } from '@tandem/server/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, linear, registerOnnx } from '../../server/test/serving/onnx.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { deployments } from '../src/deployments.js';
import { mimeBundleOf } from '../src/display/mime-bundle.js';
import { models } from '../src/models.js';
import { driftReport } from '../src/monitor/drift.js';
import { duckdb } from '../src/sql/sql.js';

describe('deployments client against a real Tandem server', () => {
  let server: TestServer;
  const env = { ...process.env };
  const signature = {
    inputs: [
      { name: 'a', type: 'Float32' },
      { name: 'b', type: 'Float32' },
    ],
    outputs: [{ name: 'score', type: 'Float32' }],
  };

  beforeAll(async () => {
    // Prediction logs are written within a fifth of a second, for log().
    server = await startTestServer({ env: { TANDEM_SERVE_LOG_FLUSH_SECONDS: '0.2' } });
    process.env.TANDEM_URL = server.url;
    process.env.TANDEM_TOKEN = server.adminToken;
    await registerOnnx(server, 'scorer', linear([2, -1], 0.5), { signature });
    await models.setAlias('scorer', 'prod', 1);
  });
  afterAll(async () => {
    process.env = env;
    await server.stop();
  });

  it('models.serve() creates the deployment, waits for its first version and shows a card with the endpoint', async () => {
    const served = await models.serve('scorer', { alias: 'prod', maxBatchSize: 8 });
    expect(served).toMatchObject({
      model: 'admin/scorer',
      alias: 'prod',
      maxBatchSize: 8,
      endpoint: '/tandem/serve/admin%2Fscorer/prod/predict',
      status: { state: 'ready', servedVersion: 1 },
    });
    const card = mimeBundleOf(served);
    expect(card['text/plain']).toBe(`admin/scorer prod: ready, serving v1\nPOST ${server.url}/tandem/serve/admin%2Fscorer/prod/predict`);
    expect(card['text/html']).toContain(`data-tandem-deployment="${served.id}"`);
  });

  it('models.serve() again answers the existing deployment, with new settings applied', async () => {
    const [first] = await deployments.list({ model: 'scorer' });
    const again = await models.serve('scorer', { alias: 'prod', timeoutMs: 2000 });
    expect(again).toMatchObject({ id: first!.id, maxBatchSize: 8, timeoutMs: 2000 });
    expect(await deployments.list({ model: 'scorer' })).toHaveLength(1);
  });

  it('predict() answers with the signature columns by name, and get() shows the served version', async () => {
    const [deployment] = await deployments.list({ model: 'admin/scorer' });
    expect((await deployments.get(deployment!.id)).status.servedVersion).toBe(1);
    expect(
      await deployments.predict('scorer', 'prod', [
        { a: 1, b: 1 },
        { a: 2, b: 0 },
      ]),
    ).toEqual({ predictions: [1.5, 4.5], version: 1 });
    expect(await deployments.predict('admin/scorer', 'prod', { columns: { a: [0], b: [1] } })).toEqual({ predictions: [-0.5], version: 1 });
  });

  it('createKey() answers a secret once that predicts without a user token; revokeKey() stops it', async () => {
    const [deployment] = await deployments.list({ model: 'scorer' });
    const { key, secret } = await deployments.createKey(deployment!.id, 'app');
    expect(key).toMatchObject({ name: 'app', prefix: secret.slice(0, key.prefix.length) });
    expect((await deployments.listKeys(deployment!.id)).map((k) => k.name)).toEqual(['app']);
    const call = () =>
      fetch(`${server.url}${deployment!.endpoint}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ rows: [{ a: 0, b: 0 }] }),
      });
    expect((await call()).status).toBe(200);
    await deployments.revokeKey(deployment!.id, key.id);
    expect((await call()).status).toBe(401);
  });

  it('errors carry the server’s message: a wrong field, an alias nobody serves, a model you may not see', async () => {
    const wrong = await deployments.predict('scorer', 'prod', [{ a: 1, c: 2 }]).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(TandemApiError);
    expect(wrong).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: expect.stringMatching(/\bb\b|\bc\b/) });
    await expect(deployments.predict('scorer', 'staging', [{ a: 1, b: 2 }])).rejects.toMatchObject({ status: 404 });
    await expect(models.serve('no-such-model', { alias: 'prod' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('models.serve() of a version that cannot load answers unavailable, and the card says why', async () => {
    await registerOnnx(server, 'broken', Buffer.from('not onnx'));
    await models.setAlias('broken', 'prod', 1);
    const served = await models.serve('broken', { alias: 'prod' });
    expect(served.status).toMatchObject({ state: 'unavailable', servedVersion: null, lastError: { version: 1 } });
    expect(mimeBundleOf(served)['text/plain']).toMatch(
      /^admin\/broken prod: unavailable; v1 failed to load: version 1 is not a loadable ONNX model/,
    );
    await deployments.remove(served.id);
  });

  it('log() reads the prediction log as SQL over its Parquet files, which monitors take as their current data', async () => {
    const [deployment] = await deployments.list({ model: 'scorer' });
    await expect(deployments.log(deployment!.id)).rejects.toThrow(/logged no request since .* \(is its logSampleRate above 0\?\)/);
    await deployments.update(deployment!.id, { logSampleRate: 1 });
    const rows = Array.from({ length: 60 }, (_, i) => ({ a: 10 + (i % 7), b: i % 5 }));
    await deployments.predict('scorer', 'prod', rows);
    await expect(deployments.predict('scorer', 'prod', [{ a: 1 }])).rejects.toMatchObject({ status: 400 });
    const connection = await duckdb();
    const count = async (query: string) =>
      Number((await connection.runAndReadAll(`SELECT count(*) AS n FROM (${query})`)).getRowObjectsJS()[0]!.n);
    // The answered rows, inputs only; the refused request only with `all`.
    const inputs = await eventually(async () => {
      const query = await deployments.log(deployment!.id).catch(() => undefined);
      return query && (await count(query)) === 60 && query;
    });
    const columns = (await connection.runAndReadAll(`DESCRIBE ${inputs}`)).getRowObjectsJS().map((r) => r.column_name);
    expect(columns).toEqual(['a', 'b']);
    expect(await count(`${await deployments.log(deployment!.id, { all: true })} AND _status = 400`)).toBe(1);
    const reference = 'SELECT (range % 7)::FLOAT AS a, (range % 5)::FLOAT AS b FROM range(60)';
    const report = await driftReport(connection, reference, inputs);
    expect(report.columns.map((c) => [c.column, c.drifted])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    await expect(deployments.log(deployment!.id, { hours: -1 })).rejects.toThrow('option "hours" must be a positive number');
  });

  it('remove() stops serving: the endpoint answers 404 and the list is empty', async () => {
    const [deployment] = await deployments.list({ model: 'scorer' });
    await deployments.remove(deployment!.id);
    expect(await deployments.list({ model: 'scorer' })).toEqual([]);
    await expect(deployments.predict('scorer', 'prod', [{ a: 1, b: 1 }])).rejects.toMatchObject({ status: 404 });
    await expect(deployments.get(deployment!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
