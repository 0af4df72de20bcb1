// The state and the texts behind a model page's Serving section: what ServingModel asks for (keys
// only for editors, traffic for everyone), and the example calls, status and traffic texts it shows. The view is covered by the
// browser suite (test/browser/serving.test.ts).
import { nullTranslator } from '@jupyterlab/translation';
import { describe, expect, it } from 'vitest';
import type { Deployment, DeploymentKey, DeploymentTrafficStats, ModelsApi } from '../../../src/models/api';
import { ServingModel } from '../../../src/models/models-model';
import {
  curlExample,
  exampleRow,
  fetchExample,
  lastErrorText,
  splitName,
  splitText,
  statusText,
  trafficNumber,
} from '../../../src/models/serving-examples';

const trans = nullTranslator.load('tandem');

const deployment = (id: string, alias: string, over: Partial<Deployment> = {}): Deployment =>
  ({
    id,
    alias,
    model: 'ana/churn',
    endpoint: `/tandem/serve/ana%2Fchurn/${alias}/predict`,
    status: { state: 'ready', servedVersion: 1, loadingVersion: null, lastError: null },
    ...over,
  }) as Deployment;

const traffic: DeploymentTrafficStats = {
  windowSeconds: 60,
  splits: [{ split: 'primary', versions: [{ version: 1, requests: 6, requestsPerSecond: 0.1, errors: 0, p50Ms: 1.2, p95Ms: 3.4 }] }],
};

function serving(canEdit: boolean) {
  const state = { deployments: [deployment('d1', 'prod')], calls: [] as string[], fail: false };
  const api = {
    deployments: async (name: string) => (state.calls.push(`deployments ${name}`), state.deployments),
    deploymentKeys: async (id: string) => (state.calls.push(`keys ${id}`), [{ id: 'k1', name: 'app' } as DeploymentKey]),
    deploymentTraffic: async (id: string) => (state.calls.push(`traffic ${id}`), traffic),
    createDeployment: async (body: { model: string; alias: string }) => {
      state.calls.push(`create ${body.model} ${body.alias}`);
      if (state.fail) throw new Error('alias staging of model ana/churn is already deployed');
      state.deployments = [...state.deployments, deployment('d2', body.alias)];
      return state.deployments.at(-1);
    },
  } as unknown as ModelsApi;
  return { state, model: new ServingModel(api, { ref: 'ana/churn', canEdit }) };
}

describe('ServingModel', () => {
  it('loads the model’s deployments by owner/name, each one’s traffic and, for editors, its keys', async () => {
    const { state, model } = serving(true);
    await model.refresh();
    expect(state.calls).toEqual(['deployments ana/churn', 'keys d1', 'traffic d1']);
    expect(model.value.deployments.map((d) => d.alias)).toEqual(['prod']);
    expect(model.value.keys).toEqual({ d1: [{ id: 'k1', name: 'app' }] });
    expect(model.value.traffic).toEqual({ d1: traffic });
  });

  it('asks viewers for the traffic but no keys (the server answers keys only to editors)', async () => {
    const { state, model } = serving(false);
    await model.refresh();
    expect(state.calls).toEqual(['deployments ana/churn', 'traffic d1']);
    expect(model.value.keys).toEqual({});
    expect(model.value.traffic).toEqual({ d1: traffic });
  });

  it('act() serves an alias and refreshes; a refusal shows as the error and answers false', async () => {
    const { state, model } = serving(true);
    await model.refresh();
    expect(await model.act((api) => api.createDeployment({ model: 'ana/churn', alias: 'staging' }))).toBe(true);
    expect(model.value.deployments.map((d) => d.alias)).toEqual(['prod', 'staging']);
    state.fail = true;
    expect(await model.act((api) => api.createDeployment({ model: 'ana/churn', alias: 'staging' }))).toBe(false);
    expect(model.error).toBe('alias staging of model ana/churn is already deployed');
  });
});

describe('example calls', () => {
  const url = 'http://127.0.0.1:8787/tandem/serve/ana%2Fchurn/prod/predict';
  const columns = [
    { name: 'tenure', type: 'Float64' },
    { name: 'plan', type: 'Utf8' },
    { name: 'active', type: 'Bool' },
  ];

  it('fill in one row with the signature’s input columns, a placeholder of each type', () => {
    expect(exampleRow(columns)).toEqual({ tenure: 0, plan: '', active: false });
    expect(exampleRow(undefined)).toEqual({ input: 0 });
  });

  it('curl sends the row with the key from $TANDEM_KEY, quoted for the shell', () => {
    expect(curlExample(url, { "o'k": 1 })).toBe(
      [
        `curl -H "Authorization: Bearer $TANDEM_KEY" -H 'content-type: application/json' \\`,
        `  -d '{"rows":[{"o'\\''k":1}]}' \\`,
        `  '${url}'`,
      ].join('\n'),
    );
  });

  it('the TypeScript example is a fetch with the row and the key from the environment', () => {
    const code = fetchExample(url, exampleRow(columns));
    expect(code).toContain(`fetch("${url}"`);
    expect(code).toContain('body: JSON.stringify({ rows: [{"tenure":0,"plan":"","active":false}] })');
    expect(code).toContain('process.env.TANDEM_KEY');
  });
});

describe('status texts', () => {
  it('name the state, the served and the loading version', () => {
    expect(statusText({ state: 'ready', servedVersion: 3, loadingVersion: 4, lastError: null }, trans)).toBe(
      'ready · serving v3 · loading v4',
    );
    expect(statusText({ state: 'unavailable', servedVersion: null, loadingVersion: null, lastError: null }, trans)).toBe('unavailable');
  });

  it('say which version failed to load and why', () => {
    const lastError = { version: 2, message: 'not an ONNX model', at: '2026-01-01T10:00:00.000Z' };
    expect(lastErrorText({ state: 'ready', servedVersion: 1, loadingVersion: null, lastError }, trans)).toMatch(
      /^Version 2 could not be loaded \(.+\): not an ONNX model$/,
    );
    expect(lastErrorText({ state: 'ready', servedVersion: 1, loadingVersion: null, lastError: null }, trans)).toBe('');
  });
});

describe('split and traffic texts', () => {
  it('give a split’s version, share and status', () => {
    const status = { state: 'ready' as const, servedVersion: 4, loadingVersion: null, lastError: null };
    expect(splitText({ version: 4, percent: 10 }, status, trans)).toBe('v4 · 10% · ready · serving v4');
    expect(splitText({ version: 4, percent: 0 }, null, trans)).toBe('v4 · 0%');
  });

  it('call the alias’s own share “alias”', () => {
    expect(['primary', 'canary', 'shadow'].map((s) => splitName(s as 'primary', trans))).toEqual(['alias', 'canary', 'shadow']);
  });

  it('show rates and latencies with three significant digits at most', () => {
    expect([0, 0.0123, 1.23456, 12.345, 123.4, 4567.8].map(trafficNumber)).toEqual(['0', '0.012', '1.23', '12.3', '123', '4568']);
  });
});
