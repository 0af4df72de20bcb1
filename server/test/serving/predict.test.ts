import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploy, eventually, linear, predict, registerOnnx, serveCreditAndPair, serveVersion } from './onnx.js';

describe('predictions', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_SERVE_MAX_BODY_BYTES: '20000' } });
    await serveVersion(server, 'linear', linear([1, 2, 3], 0.5));
    await serveCreditAndPair(server);
  });
  afterAll(() => server.stop());

  it('answers one prediction per row, from rows or from columns, with the version that answered', async () => {
    const rows = await predict(server, 'linear/prod/predict', { rows: [{ features: [1, 1, 1] }, { features: [0, 0, 2] }] });
    expect(rows).toMatchObject({ status: 200, body: { predictions: [6.5, 6.5], version: 1 } });
    const columns = await predict(server, 'linear/prod/predict', {
      columns: {
        features: [
          [1, 0, 0],
          [0, 1, 0],
        ],
      },
    });
    expect(columns.body).toEqual({ predictions: [1.5, 2.5], version: 1 });
    // owner/name, URL-encoded, names the same model.
    const qualified = await predict(server, 'admin%2Flinear/prod/predict', { rows: [{ features: [0, 0, 0] }] });
    expect(qualified.body).toEqual({ predictions: [0.5], version: 1 });
    // The HTTP metrics name the route, although its fast path answers ahead of the routers.
    const metrics = await server.api('GET', '/metrics');
    expect(metrics.body).toMatch(
      /tandem_http_request_duration_seconds_count\{[^}]*route="\/tandem\/serve\/:model\/:alias\/predict"[^}]*status="200"/,
    );
  });

  it('takes the signature’s columns by name for a model with one [N, k] input', async () => {
    const res = await predict(server, 'credit/prod/predict', { rows: [{ age: 1, income: 2, debt: 3 }] });
    expect(res.body).toEqual({ predictions: [321], version: 1 });
    const columns = await predict(server, 'credit/prod/predict', { columns: { age: [1, 2], income: [0, 0], debt: [0, 1] } });
    expect(columns.body.predictions).toEqual([1, 102]);
  });

  it('feeds each input of a model with several, and answers an object per row when there are several outputs', async () => {
    const res = await predict(server, 'pair/prod/predict', {
      rows: [
        { x: [1, 2, 3], count: 7 },
        { x: [0, 0, 1], count: -2 },
      ],
    });
    expect(res.body).toEqual({
      predictions: [
        { total: 6, count_out: 7 },
        { total: 1, count_out: -2 },
      ],
      version: 1,
    });
  });

  describe('refuses inputs that do not fit the model with a 400 naming the field', () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['a missing field', 'pair', { rows: [{ x: [1, 2, 3] }] }, /rows\[0\]\.count: missing field/],
      ['an extra field', 'pair', { rows: [{ x: [1, 2, 3], count: 1, colour: 'red' }] }, /rows\[0\]\.colour: unknown field/],
      ['a string for a float', 'pair', { rows: [{ x: [1, 'two', 3], count: 1 }] }, /rows\[0\]\.x\[1\]: expected a number/],
      ['a fraction for an int64', 'pair', { rows: [{ x: [1, 2, 3], count: 1.5 }] }, /rows\[0\]\.count: expected an integer/],
      ['a wrong shape', 'pair', { rows: [{ x: [1, 2], count: 1 }] }, /rows\[0\]\.x: expected shape \[3\]/],
      ['a scalar for a vector', 'linear', { rows: [{ features: 3 }] }, /rows\[0\]\.features: expected shape \[3\]/],
      ['columns of different lengths', 'credit', { columns: { age: [1, 2], income: [1], debt: [1, 2] } }, /columns\.income: has 1 values/],
      ['a missing column', 'credit', { columns: { age: [1], income: [1] } }, /columns\.debt: missing field/],
      ['an unknown column', 'credit', { columns: { age: [1], income: [1], debt: [1], colour: ['red'] } }, /columns\.colour: unknown field/],
      ['both rows and columns', 'linear', { rows: [], columns: {} }, /exactly one of rows/],
      ['no rows', 'linear', { rows: [] }, /at least one row/],
      ['a row that is not an object', 'linear', { rows: [[1, 2, 3]] }, /body\.rows\.0/],
    ];
    it.each(cases)('%s', async (_what, model, body, message) => {
      const res = await predict(server, `${model}/prod/predict`, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
      expect(res.body.error.message).toMatch(message);
    });
  });

  it('answers 413 to a body over the serving limit and 400 to malformed JSON, and keeps serving', async () => {
    const big = { rows: Array.from({ length: 2000 }, () => ({ features: [1, 2, 3] })) };
    const tooLarge = await predict(server, 'linear/prod/predict', big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const malformed = await predict(server, 'linear/prod/predict', '{"rows": [');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_ARGUMENT');
    for (const junk of [
      'null',
      '[]',
      '"rows"',
      '{"rows": {"features": [1, 2, 3]}}',
      '{"rows": [null]}',
      '{"columns": {"features": 5}}',
      `{"rows": [{"features": ${'['.repeat(4000)}${']'.repeat(4000)}}]}`,
    ]) {
      const res = await predict(server, 'linear/prod/predict', junk);
      expect(res.status, junk).toBe(400);
    }
    expect((await predict(server, 'linear/prod/predict', { rows: [{ features: [1, 1, 1] }] })).body.predictions).toEqual([6.5]);
  });

  it('answers 404 for an alias that is not deployed and a model that does not exist', async () => {
    expect((await predict(server, 'linear/staging/predict', { rows: [{ features: [1, 1, 1] }] })).status).toBe(404);
    expect((await predict(server, 'nothing/prod/predict', { rows: [{ features: [1, 1, 1] }] })).status).toBe(404);
    const unknown = await predict(server, 'linear/prod/explain', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
  });

  it('serves a pinned version of a deployed model at /versions/:n, loading it on first use', async () => {
    await registerOnnx(server, 'linear', linear([0, 0, 0], 42));
    const pinned = await predict(server, 'linear/versions/2/predict', { rows: [{ features: [1, 1, 1] }] });
    expect(pinned).toMatchObject({ status: 200, body: { predictions: [42], version: 2 } });
    expect((await predict(server, 'linear/versions/1/predict', { rows: [{ features: [1, 1, 1] }] })).body.version).toBe(1);
    expect((await predict(server, 'linear/versions/9/predict', { rows: [{ features: [1, 1, 1] }] })).status).toBe(404);
    // The alias is untouched.
    expect((await predict(server, 'linear/prod/predict', { rows: [{ features: [1, 1, 1] }] })).body.version).toBe(1);
  });

  it('runs each request alone on a model with a fixed batch size, and refuses other row counts', async () => {
    await registerOnnx(server, 'single', linear([1, 1, 1], 0, [1, 3]));
    await server.api('PUT', 'models/single/aliases/prod', { body: { version: 1 } });
    await deploy(server, 'single', 'prod', { version: 1, settings: { maxWaitMs: 50 } });
    const answers = await Promise.all([1, 2, 3, 4].map((x) => predict(server, 'single/prod/predict', { rows: [{ features: [x, 0, 0] }] })));
    expect(answers.map((a) => a.body.predictions)).toEqual([[1], [2], [3], [4]]);
    const two = await predict(server, 'single/prod/predict', { rows: [{ features: [1, 0, 0] }, { features: [1, 0, 0] }] });
    expect(two.status).toBe(400);
    expect(two.body.error.message).toMatch(/input features takes exactly 1 row\(s\) per request, got 2/);
  });

  it('does not serve a model whose inputs have dynamic dimensions besides the batch one, and says why', async () => {
    await registerOnnx(server, 'ragged', linear([1, 1, 1], 0, ['N', 'K']));
    await server.api('PUT', 'models/ragged/aliases/prod', { body: { version: 1 } });
    const { id } = await deploy(server, 'ragged', 'prod');
    const status = await eventually(
      async () =>
        (await server.api('GET', `deployments/${id}`)).body.status.lastError && (await server.api('GET', `deployments/${id}`)).body.status,
    );
    expect(status).toMatchObject({ state: 'unavailable', servedVersion: null, lastError: { version: 1 } });
    expect(status.lastError.message).toMatch(/input features has shape \[N, K\]: serving needs every dimension but the first/);
    expect((await predict(server, 'ragged/prod/predict', { rows: [{ features: [1, 1, 1] }] })).status).toBe(503);
  });

  it('answers ready with the version loaded, and 503 while nothing is loaded', async () => {
    const ready = await server.api('GET', '/tandem/serve/linear/prod/ready');
    expect(ready).toMatchObject({ status: 200, body: { ready: true, version: 1 } });
    const unset = await deploy(server, 'linear', 'canary');
    const notReady = await server.api('GET', '/tandem/serve/linear/canary/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.body.error).toMatchObject({ code: 'UNAVAILABLE', details: { ready: false } });
    const refused = await predict(server, 'linear/canary/predict', { rows: [{ features: [1, 1, 1] }] });
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toMatch(/alias canary of model admin\/linear points at no version/);
    // Setting the alias makes it serve, without touching the deployment.
    await server.api('PUT', 'models/linear/aliases/canary', { body: { version: 2 } });
    await eventually(async () => (await server.api('GET', '/tandem/serve/linear/canary/ready')).status === 200);
    expect((await server.api('GET', `deployments/${unset.id}`)).body.status).toMatchObject({
      state: 'ready',
      servedVersion: 2,
      lastError: null,
    });
  });
});

describe('predictions with artifacts in MinIO', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: 'minio' });
  });
  afterAll(() => server.stop());

  it('loads the version from the object store and serves it', async () => {
    await registerOnnx(server, 'stored', linear([2, 0, 0], 1));
    await server.api('PUT', 'models/stored/aliases/prod', { body: { version: 1 } });
    await deploy(server, 'stored', 'prod', { version: 1 });
    expect((await predict(server, 'stored/prod/predict', { rows: [{ features: [3, 0, 0] }] })).body).toEqual({
      predictions: [7],
      version: 1,
    });
  });
});
