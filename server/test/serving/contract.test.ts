// The serving part of the API contract (src/api/serving.ts) against what the routes send, as
// test/api/contract.test.ts does for the other features: each key list names every key of its
// type (tsc checks), and each answer has exactly those keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CreatedDeploymentKey,
  Deployment,
  DeploymentKey,
  DeploymentKeyList,
  DeploymentPage,
  DeploymentStatus,
  PredictResponse,
  ReadyResponse,
} from '../../src/api/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { linear, predict, registerOnnx, servedVersion } from './onnx.js';

type KeyList<T> = { [K in keyof T]-?: object extends Pick<T, K> ? 'optional' : true };

function expectKeys(what: string, value: unknown, list: Record<string, true | 'optional'>): void {
  expect(value, what).toBeTypeOf('object');
  const keys = Object.keys(value as object).sort();
  const required = Object.keys(list).filter((k) => list[k] === true);
  expect({ what, unknown: keys.filter((k) => !(k in list)) }).toEqual({ what, unknown: [] });
  expect({ what, missing: required.filter((k) => !keys.includes(k)) }).toEqual({ what, missing: [] });
}

const STATUS = { state: true, servedVersion: true, loadingVersion: true, lastError: true } satisfies KeyList<DeploymentStatus>;
const DEPLOYMENT = {
  id: true,
  modelId: true,
  model: true,
  alias: true,
  aliasVersion: true,
  createdBy: true,
  createdAt: true,
  updatedAt: true,
  endpoint: true,
  status: true,
  splitStatus: true,
  canary: true,
  shadow: true,
  maxBatchSize: true,
  maxWaitMs: true,
  queueLimit: true,
  timeoutMs: true,
  logSampleRate: true,
  logRetentionDays: true,
} satisfies KeyList<Deployment>;
const PAGE = { items: true, total: true, nextPageToken: 'optional' } satisfies KeyList<DeploymentPage>;
const KEY = {
  id: true,
  deploymentId: true,
  name: true,
  prefix: true,
  createdBy: true,
  createdAt: true,
  lastUsedAt: true,
} satisfies KeyList<DeploymentKey>;
const CREATED_KEY = { key: true, secret: true } satisfies KeyList<CreatedDeploymentKey>;
const KEY_LIST = { items: true } satisfies KeyList<DeploymentKeyList>;
const PREDICTION = { predictions: true, version: true } satisfies KeyList<PredictResponse>;
const READY = { ready: true, version: true } satisfies KeyList<ReadyResponse>;

describe('the serving API contract and what the routes answer', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
    await registerOnnx(server, 'contract', linear([1, 1, 1], 0));
    await server.api('PUT', 'models/contract/aliases/prod', { body: { version: 1 } });
  });
  afterAll(() => server.stop());

  it('the deployment routes answer Deployment, DeploymentPage, CreatedDeploymentKey and DeploymentKeyList', async () => {
    const created = await server.api('POST', 'deployments', { body: { model: 'contract', alias: 'prod' } });
    expectKeys('POST /deployments', created.body, DEPLOYMENT);
    const ready = await servedVersion(server, created.body.id, 1);
    expectKeys('GET /deployments/:id', ready, DEPLOYMENT);
    expectKeys('Deployment.status', ready.status, STATUS);
    const page = (await server.api('GET', 'deployments')).body;
    expectKeys('GET /deployments', page, PAGE);
    expectKeys('GET /deployments item', page.items[0], DEPLOYMENT);
    expectKeys(
      'PATCH /deployments/:id',
      (await server.api('PATCH', `deployments/${created.body.id}`, { body: { maxWaitMs: 1 } })).body,
      DEPLOYMENT,
    );
    const key = (await server.api('POST', `deployments/${created.body.id}/keys`, { body: { name: 'app' } })).body;
    expectKeys('POST /deployments/:id/keys', key, CREATED_KEY);
    expectKeys('CreatedDeploymentKey.key', key.key, KEY);
    const keys = (await server.api('GET', `deployments/${created.body.id}/keys`)).body;
    expectKeys('GET /deployments/:id/keys', keys, KEY_LIST);
    expectKeys('DeploymentKeyList item', keys.items[0], KEY);
  });

  it('the serve routes answer PredictResponse and ReadyResponse', async () => {
    expectKeys('POST …/predict', (await predict(server, 'contract/prod/predict', { rows: [{ features: [1, 2, 3] }] })).body, PREDICTION);
    expectKeys('GET …/ready', (await server.api('GET', '/tandem/serve/contract/prod/ready')).body, READY);
  });

  it('documents the serve routes in the OpenAPI document, with who may call them', async () => {
    const { paths } = (await server.api('GET', 'openapi.json')).body;
    expect(paths['/tandem/serve/{model}/{alias}/predict'].post['x-tandem-auth']).toBe('public');
    expect(paths['/tandem/api/deployments/{id}/keys'].post['x-tandem-auth']).toBe('user');
  });
});
