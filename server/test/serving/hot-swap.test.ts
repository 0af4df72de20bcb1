import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploy, eventually, linear, predict, registerOnnx, servedVersion } from './onnx.js';

/** Each version v answers v for every row (weights 0, bias v). */
const versionModel = (v: number) => linear([0, 0, 0], v);
const ROW = { rows: [{ features: [1, 2, 3] }] };

describe('hot swap', () => {
  let server: TestServer;
  let deployment: { id: string };

  beforeAll(async () => {
    server = await startTestServer();
    for (const v of [1, 2, 3]) await registerOnnx(server, 'swap', versionModel(v));
    await server.api('PUT', 'models/swap/aliases/prod', { body: { version: 1 } });
    deployment = await deploy(server, 'swap', 'prod', { version: 1 });
  });
  afterAll(() => server.stop());

  /** Calls predict from `concurrency` loops until `stop` resolves; answers every outcome. */
  async function load(concurrency: number, stop: Promise<unknown>) {
    const outcomes: { status: number; version?: number; prediction?: number }[] = [];
    let stopped = false;
    void stop.then(() => (stopped = true));
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!stopped) {
          const res = await predict(server, 'swap/prod/predict', ROW);
          outcomes.push({ status: res.status, version: res.body?.version, prediction: res.body?.predictions?.[0] });
        }
      }),
    );
    return outcomes;
  }

  it('moving the alias swaps versions under load with no failed request, and answers stay consistent', async () => {
    const moved = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await server.api('PUT', 'models/swap/aliases/prod', { body: { version: 2 } })).status).toBe(200);
      await servedVersion(server, deployment.id, 2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await server.api('PUT', 'models/swap/aliases/prod', { body: { version: 3 } })).status).toBe(200);
      await servedVersion(server, deployment.id, 3);
      await new Promise((resolve) => setTimeout(resolve, 200));
    })();
    const outcomes = await load(8, moved);
    await moved;
    expect(outcomes.length).toBeGreaterThan(50);
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    // Each answer came from the version it names, and versions only moved forward per the moves.
    expect(outcomes.every((o) => o.prediction === o.version)).toBe(true);
    expect(new Set(outcomes.map((o) => o.version))).toEqual(new Set([1, 2, 3]));
    expect(outcomes.at(-1)!.version).toBe(3);
  });

  it('a version that fails to load keeps the previous one serving and shows the error', async () => {
    const corrupt = await registerOnnx(server, 'swap', Buffer.from('this is not an onnx file'));
    const moved = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await server.api('PUT', 'models/swap/aliases/prod', { body: { version: corrupt.number } });
      await eventually(async () => (await server.api('GET', `deployments/${deployment.id}`)).body.status.lastError);
      await new Promise((resolve) => setTimeout(resolve, 100));
    })();
    const outcomes = await load(4, moved);
    expect(outcomes.filter((o) => o.status !== 200 || o.version !== 3)).toEqual([]);
    const { body } = await server.api('GET', `deployments/${deployment.id}`);
    expect(body.aliasVersion).toBe(corrupt.number);
    expect(body.status).toMatchObject({ state: 'ready', servedVersion: 3, loadingVersion: null });
    expect(body.status.lastError).toMatchObject({ version: corrupt.number, message: expect.stringMatching(/not a loadable ONNX model/) });
    expect((await server.api('GET', '/tandem/serve/swap/prod/ready')).body).toEqual({ ready: true, version: 3 });
  });

  it('an artifact changed in the store after registration is refused (sha256), and the serving version stays', async () => {
    const good = await registerOnnx(server, 'swap', versionModel(5));
    const model = await server.api('GET', 'models/swap');
    // Overwrite the stored object behind the registry's back: it no longer matches the recorded hash.
    await server.ctx.artifacts.put(`models/${model.body.id}/${good.id}/model.onnx`, Readable.from([versionModel(6)]));
    await server.api('PUT', 'models/swap/aliases/prod', { body: { version: good.number } });
    const { body } = await eventually(async () => {
      const res = await server.api('GET', `deployments/${deployment.id}`);
      return res.body.status.lastError?.version === good.number && res;
    });
    expect(body.status.lastError.message).toMatch(/does not match its registered sha256/);
    expect((await predict(server, 'swap/prod/predict', ROW)).body).toEqual({ predictions: [3], version: 3 });
  });

  it('moving the alias to a good version after a failure serves it and clears the error', async () => {
    await server.api('PUT', 'models/swap/aliases/prod', { body: { version: 2 } });
    const { status } = await servedVersion(server, deployment.id, 2);
    expect(status.lastError).toBeNull();
    expect((await predict(server, 'swap/prod/predict', ROW)).body).toEqual({ predictions: [2], version: 2 });
  });

  it('removing the alias stops serving (503) until it is set again', async () => {
    await server.api('DELETE', 'models/swap/aliases/prod');
    await eventually(async () => (await server.api('GET', '/tandem/serve/swap/prod/ready')).status === 503);
    const refused = await predict(server, 'swap/prod/predict', ROW);
    expect(refused.status).toBe(503);
    await server.api('PUT', 'models/swap/aliases/prod', { body: { version: 1 } });
    await servedVersion(server, deployment.id, 1);
    expect((await predict(server, 'swap/prod/predict', ROW)).body.version).toBe(1);
  });

  it('deleting the model removes its deployments', async () => {
    await registerOnnx(server, 'doomed', versionModel(1));
    await server.api('PUT', 'models/doomed/aliases/prod', { body: { version: 1 } });
    const doomed = await deploy(server, 'doomed', 'prod', { version: 1 });
    expect((await server.api('DELETE', 'models/doomed')).status).toBe(204);
    expect((await server.api('GET', `deployments/${doomed.id}`)).status).toBe(404);
    await eventually(async () => (await predict(server, 'doomed/prod/predict', ROW)).status === 404);
  });
});
