import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploy, eventually, linear, predict, registerOnnx, servedVersion } from './onnx.js';

/** Each version v answers v for every row (weights 0, bias v). */
const versionModel = (v: number) => linear([0, 0, 0], v);
const ROW = { rows: [{ features: [1, 2, 3] }] };

/** A sample's value in the Prometheus text, by the labels it must carry (in any order). */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('traffic splits: canary and shadow versions beside the alias', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let deployment: { id: string };

  beforeAll(async () => {
    server = await startTestServer();
    for (const name of ['owner', 'viewer', 'stranger']) tokens[name] = (await server.user(name)).token;
    for (const v of [1, 2, 3]) await registerOnnx(server, 'split', versionModel(v), { token: tokens.owner });
    await server.api('PUT', 'models/split/aliases/prod', { token: tokens.owner, body: { version: 1 } });
    await server.api('PUT', 'models/split/grants', { token: tokens.owner, body: { type: 'user', name: 'viewer', role: 'viewer' } });
    deployment = await deploy(server, 'owner/split', 'prod', { token: tokens.owner, version: 1 });
  });
  afterAll(() => server.stop());

  const patch = (body: unknown, token = tokens.owner) => server.api('PATCH', `deployments/${deployment.id}`, { token, body });
  const versions = async (n: number) => {
    const answers = await Promise.all(Array.from({ length: n }, () => predict(server, 'owner%2Fsplit/prod/predict', ROW, tokens.viewer)));
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    return answers.map((a) => a.body.version as number);
  };
  /** Waits until the split of the deployment has its version loaded. */
  const splitLoaded = (split: 'canary' | 'shadow', version: number) =>
    eventually(async () => {
      const { body } = await server.api('GET', `deployments/${deployment.id}`, { token: tokens.owner });
      return body.splitStatus?.[split]?.servedVersion === version && body;
    });

  it('a canary answers about its share of requests, each answer naming the version that gave it', async () => {
    const set = await patch({ canary: { version: 2, percent: 30 } });
    expect(set.status).toBe(200);
    expect(set.body.canary).toEqual({ version: 2, percent: 30 });
    await splitLoaded('canary', 2);
    const answered = await versions(400);
    const canary = answered.filter((v) => v === 2).length;
    expect(answered.every((v) => v === 1 || v === 2)).toBe(true);
    // 30% of 400 is 120; the bounds are about five standard deviations (sd ≈ 9.2).
    expect(canary).toBeGreaterThan(74);
    expect(canary).toBeLessThan(166);
  });

  it('records requests per split and version in the metrics', async () => {
    const metrics = (await server.api('GET', '/metrics')).body as string;
    const labels = { model: 'owner/split', endpoint: 'prod' };
    const canary = sample(metrics, 'tandem_serving_requests_total', { ...labels, split: 'canary', version: '2', status: '200' });
    const primary = sample(metrics, 'tandem_serving_requests_total', { ...labels, split: 'primary', version: '1', status: '200' });
    expect(canary).toBeGreaterThan(0);
    expect(primary).toBeGreaterThan(0);
    expect(canary + primary).toBeGreaterThanOrEqual(400);
    expect(sample(metrics, 'tandem_serving_version', { ...labels, split: 'canary' })).toBe(2);
  });

  it('a canary at 0% is loaded but answers nothing; at 100% it answers everything', async () => {
    await patch({ canary: { version: 2, percent: 0 } });
    expect(new Set(await versions(50))).toEqual(new Set([1]));
    await patch({ canary: { version: 2, percent: 100 } });
    expect(new Set(await versions(50))).toEqual(new Set([2]));
  });

  it('a shadow gets copies of requests: callers see only the alias’s answers, the shadow’s are counted', async () => {
    await patch({ canary: null, shadow: { version: 3, percent: 100 } });
    await splitLoaded('shadow', 3);
    const before = (await server.api('GET', '/metrics')).body as string;
    const labels = { model: 'owner/split', endpoint: 'prod', split: 'shadow', version: '3', status: '200' };
    const counted = sample(before, 'tandem_serving_requests_total', labels);
    expect(new Set(await versions(40))).toEqual(new Set([1]));
    await eventually(async () => {
      const after = (await server.api('GET', '/metrics')).body as string;
      return sample(after, 'tandem_serving_requests_total', labels) - counted >= 40;
    });
    const shown = await server.api('GET', `deployments/${deployment.id}`, { token: tokens.viewer });
    expect(shown.body).toMatchObject({ canary: null, shadow: { version: 3, percent: 100 }, splitStatus: { canary: null } });
    expect(shown.body.splitStatus.shadow).toMatchObject({ state: 'ready', servedVersion: 3 });
  });

  it('shows viewers the last minute per split and version; a stranger is told the deployment does not exist', async () => {
    const stats = await eventually(async () => {
      const { status, body } = await server.api('GET', `deployments/${deployment.id}/traffic`, { token: tokens.viewer });
      expect(status).toBe(200);
      const shadow = body.splits.find((s: { split: string }) => s.split === 'shadow');
      return shadow?.versions[0]?.requests >= 40 && body;
    });
    expect(stats.windowSeconds).toBe(60);
    // The canary was removed with its runner, so only the alias's split and the shadow are left.
    expect(stats.splits.map((s: { split: string }) => s.split)).toEqual(['primary', 'shadow']);
    const [primary] = stats.splits[0].versions;
    expect(primary).toMatchObject({ version: 1, errors: 0 });
    expect(primary.requests).toBeGreaterThan(300);
    expect(primary.requestsPerSecond).toBeCloseTo(primary.requests / 60);
    expect(primary.p50Ms).toBeGreaterThan(0);
    expect(primary.p95Ms).toBeGreaterThanOrEqual(primary.p50Ms);
    expect(stats.splits[1].versions).toEqual([expect.objectContaining({ version: 3, errors: 0 })]);
    expect((await server.api('GET', `deployments/${deployment.id}/traffic`, { token: tokens.stranger })).status).toBe(404);
  });

  it('a canary whose version fails to load takes no requests and shows why', async () => {
    const corrupt = await registerOnnx(server, 'split', Buffer.from('not an onnx file'), { token: tokens.owner });
    expect((await patch({ shadow: null, canary: { version: corrupt.number, percent: 50 } })).status).toBe(200);
    const failed = await eventually(async () => {
      const { body } = await server.api('GET', `deployments/${deployment.id}`, { token: tokens.owner });
      return body.splitStatus?.canary?.lastError && body;
    });
    expect(failed.splitStatus.canary).toMatchObject({ state: 'unavailable', servedVersion: null, lastError: { version: corrupt.number } });
    expect(new Set(await versions(40))).toEqual(new Set([1]));
  });

  it('promoting the canary moves the alias to its version and removes the canary', async () => {
    await patch({ canary: { version: 2, percent: 10 } });
    await splitLoaded('canary', 2);
    const promoted = await server.api('POST', `deployments/${deployment.id}/promote`, { token: tokens.owner });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ aliasVersion: 2, canary: null });
    await servedVersion(server, deployment.id, 2, tokens.owner);
    expect(new Set(await versions(30))).toEqual(new Set([2]));
    const again = await server.api('POST', `deployments/${deployment.id}/promote`, { token: tokens.owner });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain('no canary');
  });

  it('refuses splits that name no version, the alias’s own version, or bad shares, naming the field', async () => {
    const refusals = [
      [{ canary: { version: 99, percent: 10 } }, 'canary.version: model owner/split has no version 99'],
      [{ shadow: { version: 2, percent: 10 } }, 'shadow.version: version 2 is the one the alias serves'],
      [{ canary: { version: 3, percent: 101 } }, 'canary'],
      [{ canary: { version: 3 } }, 'canary'],
      [{ shadow: { version: 3, percent: 10, extra: 1 } }, 'shadow'],
    ] as const;
    for (const [body, message] of refusals) {
      const res = await patch(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(res.body.error), JSON.stringify(body)).toContain(message);
    }
    const created = await server.api('POST', 'deployments', {
      token: tokens.owner,
      body: { model: 'owner/split', alias: 'nothing-yet', canary: { version: 42, percent: 5 } },
    });
    expect(created.status).toBe(400);
    expect((await server.api('GET', `deployments/${deployment.id}`, { token: tokens.owner })).body.canary).toBeNull();
  });

  it('only editors change or promote splits: a viewer is refused, a stranger told it does not exist', async () => {
    expect((await patch({ canary: { version: 3, percent: 50 } }, tokens.viewer)).status).toBe(403);
    expect((await patch({ canary: { version: 3, percent: 50 } }, tokens.stranger)).status).toBe(404);
    expect((await server.api('POST', `deployments/${deployment.id}/promote`, { token: tokens.viewer })).status).toBe(403);
    expect((await server.api('POST', `deployments/${deployment.id}/promote`, { token: tokens.stranger })).status).toBe(404);
    expect((await server.api('GET', `deployments/${deployment.id}`, { token: tokens.owner })).body.canary).toBeNull();
  });

  it('a deployment can be created with its splits', async () => {
    await server.api('PUT', 'models/split/aliases/staging', { token: tokens.owner, body: { version: 1 } });
    const created = await server.api('POST', 'deployments', {
      token: tokens.owner,
      body: { model: 'owner/split', alias: 'staging', canary: { version: 3, percent: 100 } },
    });
    expect(created.status).toBe(201);
    expect(created.body.canary).toEqual({ version: 3, percent: 100 });
    await eventually(async () => {
      const answer = await predict(server, 'owner%2Fsplit/staging/predict', ROW, tokens.viewer);
      return answer.body.version === 3;
    });
  });
});
