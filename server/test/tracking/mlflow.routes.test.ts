// The MLflow-compatible REST API over plain HTTP: shapes, MLflow's error codes and statuses,
// and the callers it refuses. The real Python client is in mlflow-client.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerToken } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('MLflow REST API at /tandem/mlflow', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let experimentId: string;
  let runId: string;

  /** Calls `/tandem/mlflow/api/2.0/mlflow/<path>` as `token`: GET with a query, POST with a JSON body. */
  const mlflow = async (method: 'GET' | 'POST', path: string, input: Record<string, unknown> = {}, token: string | null = alice.token) => {
    const query = method === 'GET' ? `?${new URLSearchParams(input as Record<string, string>)}` : '';
    const res = await fetch(`${server.url}/tandem/mlflow/api/2.0/mlflow/${path}${query}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      body: method === 'POST' ? JSON.stringify(input) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    alice = await server.user('alice');
    bob = await server.user('bob');
    experimentId = (await mlflow('POST', 'experiments/create', { name: 'churn', tags: [{ key: 'team', value: 'growth' }] })).body
      .experiment_id;
    const created = await mlflow('POST', 'runs/create', {
      experiment_id: experimentId,
      start_time: 1_700_000_000_000,
      tags: [
        { key: 'mlflow.runName', value: 'first' },
        { key: 'mlflow.user', value: 'someone-else' },
        { key: 'mlflow.source.name', value: 'train.py' },
      ],
    });
    runId = created.body.run.info.run_id;
  });
  afterAll(() => server.stop());

  it('answers experiments and runs in MLflow’s shapes, with the token’s user and the proxied artifact URIs', async () => {
    const experiment = await mlflow('GET', 'experiments/get', { experiment_id: experimentId });
    expect(experiment.body.experiment).toEqual({
      experiment_id: experimentId,
      name: 'churn',
      artifact_location: `mlflow-artifacts:/${experimentId}`,
      lifecycle_stage: 'active',
      creation_time: expect.any(Number),
      last_update_time: expect.any(Number),
      tags: [{ key: 'team', value: 'growth' }],
    });
    const run = await mlflow('GET', 'runs/get', { run_id: runId });
    expect(run.body.run.info).toEqual({
      run_id: runId,
      run_uuid: runId,
      run_name: 'first',
      experiment_id: experimentId,
      user_id: 'alice',
      status: 'RUNNING',
      start_time: 1_700_000_000_000,
      artifact_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
      lifecycle_stage: 'active',
    });
    expect(run.body.run.data.tags).toEqual(
      expect.arrayContaining([
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'mlflow.runName', value: 'first' },
        { key: 'mlflow.user', value: 'alice' },
      ]),
    );
  });

  it('logs batches, single metrics and params with int64s as numbers or strings, and NaN as MLflow sends it', async () => {
    const batch = await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [
        { key: 'loss', value: 0.5, timestamp: '1700000000001', step: '1' },
        { key: 'loss', value: 'NaN', timestamp: 1_700_000_000_002, step: 2 },
      ],
      params: [{ key: 'lr', value: '0.01' }],
      tags: [{ key: 'mlflow.runName', value: 'renamed' }],
    });
    expect(batch).toEqual({ status: 200, body: {} });
    await mlflow('POST', 'runs/log-metric', { run_uuid: runId, key: 'acc', value: 0.9, timestamp: 1, step: 0 });
    await mlflow('POST', 'runs/log-parameter', { run_id: runId, key: 'depth', value: '4' });
    const { run } = (await mlflow('GET', 'runs/get', { run_id: runId })).body;
    expect(run.info.run_name).toBe('renamed');
    expect(run.data.params).toEqual(
      expect.arrayContaining([
        { key: 'lr', value: '0.01' },
        { key: 'depth', value: '4' },
      ]),
    );
    expect(run.data.metrics).toEqual(expect.arrayContaining([{ key: 'loss', value: 'NaN', timestamp: 1_700_000_000_002, step: 2 }]));
    const history = await mlflow('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: '1' });
    expect(history.body).toEqual({
      metrics: [{ key: 'loss', value: 0.5, timestamp: 1_700_000_000_001, step: 1 }],
      next_page_token: expect.any(String),
    });
    const rest = await mlflow('GET', 'metrics/get-history', {
      run_id: runId,
      metric_key: 'loss',
      page_token: history.body.next_page_token,
    });
    expect(rest.body).toEqual({ metrics: [{ key: 'loss', value: 'NaN', timestamp: 1_700_000_000_002, step: 2 }] });
  });

  it('answers MLflow’s error codes with MLflow’s statuses', async () => {
    const cases: [Promise<{ status: number; body: any }>, number, string, RegExp][] = [
      [mlflow('GET', 'runs/get', { run_id: 'f'.repeat(32) }), 404, 'RESOURCE_DOES_NOT_EXIST', /run f+ not found/],
      [
        mlflow('GET', 'experiments/get-by-name', { experiment_name: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /experiment "nope" not found/,
      ],
      [mlflow('POST', 'experiments/create', { name: 'churn' }), 400, 'RESOURCE_ALREADY_EXISTS', /already have an experiment named "churn"/],
      [
        mlflow('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.5' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /param lr .*cannot change/,
      ],
      [
        mlflow('POST', 'runs/search', { experiment_ids: [experimentId], filter: 'metrics.acc ~ 1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /filter: unexpected character at position 12/,
      ],
      [
        mlflow('POST', 'runs/search', { experiment_ids: [experimentId], order_by: ['metrics.acc UP'] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /order_by\[0\]/,
      ],
      [
        mlflow('POST', 'runs/log-batch', { run_id: runId, metrics: [{ key: 'x', value: 'lots' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /body\.metrics\.0\.value/,
      ],
      [mlflow('POST', 'runs/log-batch', { metrics: [] }), 400, 'INVALID_PARAMETER_VALUE', /run_id is required/],
      [mlflow('POST', 'runs/delete-tag', { run_id: runId, key: 'missing' }), 404, 'RESOURCE_DOES_NOT_EXIST', /no tag/],
      [mlflow('POST', 'runs/delete-tag', { run_id: runId, key: 'mlflow.user' }), 400, 'INVALID_PARAMETER_VALUE', /part of the run/],
      [mlflow('POST', 'runs/nonsense'), 404, 'ENDPOINT_NOT_FOUND', /no MLflow endpoint POST/],
      [mlflow('GET', 'runs/get', { run_id: runId }, null), 401, 'UNAUTHENTICATED', /API token is required/],
    ];
    for (const [pending, status, code, message] of cases) {
      const res = await pending;
      expect({ status: res.status, body: res.body }).toEqual({
        status,
        body: { error_code: code, message: expect.stringMatching(message) },
      });
    }
    const malformed = await fetch(`${server.url}/tandem/mlflow/api/2.0/mlflow/runs/log-batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: '{"run_id": ',
    });
    expect({ status: malformed.status, code: ((await malformed.json()) as { error_code: string }).error_code }).toEqual({
      status: 400,
      code: 'MALFORMED_REQUEST',
    });
  });

  it('another user sees nothing, a viewer may read but not write, a worker token is refused', async () => {
    expect((await mlflow('GET', 'runs/get', { run_id: runId }, bob.token)).body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect((await mlflow('POST', 'runs/search', { experiment_ids: [experimentId] }, bob.token)).body.error_code).toBe(
      'RESOURCE_DOES_NOT_EXIST',
    );
    expect((await mlflow('POST', 'experiments/search', {}, bob.token)).body).toEqual({ experiments: [] });
    // bob's own "churn" is his, and get-by-name answers his before any shared one.
    const bobs = (await mlflow('POST', 'experiments/create', { name: 'churn' }, bob.token)).body.experiment_id;
    await server.api('PUT', `experiments/${experimentId}/grants`, {
      token: alice.token,
      body: { type: 'user', name: 'bob', role: 'viewer' },
    });
    expect((await mlflow('GET', 'experiments/get-by-name', { experiment_name: 'churn' }, bob.token)).body.experiment.experiment_id).toBe(
      bobs,
    );
    expect((await mlflow('GET', 'runs/get', { run_id: runId }, bob.token)).status).toBe(200);
    const write = await mlflow('POST', 'runs/set-tag', { run_id: runId, key: 'x', value: 'y' }, bob.token);
    expect(write).toEqual({
      status: 403,
      body: { error_code: 'PERMISSION_DENIED', message: expect.stringMatching(/editor role required/) },
    });
    const worker = await mlflow('POST', 'runs/search', { experiment_ids: [experimentId] }, await workerToken(server, alice.token));
    expect(worker).toEqual({ status: 403, body: { error_code: 'PERMISSION_DENIED', message: expect.stringMatching(/worker tokens/) } });
  });

  it('experiment "0" is each caller’s own Default experiment', async () => {
    const mine = await mlflow('GET', 'experiments/get', { experiment_id: '0' });
    const theirs = await mlflow('GET', 'experiments/get', { experiment_id: '0' }, bob.token);
    expect(mine.body.experiment.name).toBe('Default');
    expect(theirs.body.experiment.name).toBe('Default');
    expect(mine.body.experiment.experiment_id).not.toBe(theirs.body.experiment.experiment_id);
    const byName = await mlflow('GET', 'experiments/get-by-name', { experiment_name: 'Default' });
    expect(byName.body.experiment.experiment_id).toBe(mine.body.experiment.experiment_id);
    const run = await mlflow('POST', 'runs/create', {});
    expect(run.body.run.info.experiment_id).toBe(mine.body.experiment.experiment_id);
  });

  it('searches experiments and runs with MLflow’s filters, view types and page tokens', async () => {
    const found = await mlflow('POST', 'experiments/search', { filter: "name LIKE 'ch%' AND tags.team = 'growth'" });
    expect(found.body.experiments.map((e: { name: string }) => e.name)).toEqual(['churn']);
    await mlflow('POST', 'runs/create', { experiment_id: experimentId, run_name: 'second' });
    const page = await mlflow('POST', 'runs/search', {
      experiment_ids: [experimentId],
      max_results: 1,
      order_by: ['attributes.run_name ASC'],
    });
    expect(page.body.runs.map((r: { info: { run_name: string } }) => r.info.run_name)).toEqual(['renamed']);
    const next = await mlflow('POST', 'runs/search', {
      experiment_ids: [experimentId],
      max_results: 1,
      order_by: ['attributes.run_name ASC'],
      page_token: page.body.next_page_token,
    });
    expect(next.body.runs.map((r: { info: { run_name: string } }) => r.info.run_name)).toEqual(['second']);
    await mlflow('POST', 'runs/delete', { run_id: runId });
    const deleted = await mlflow('POST', 'runs/search', { experiment_ids: [experimentId], run_view_type: 'DELETED_ONLY' });
    expect(deleted.body.runs.map((r: { info: { run_id: string } }) => r.info.run_id)).toEqual([runId]);
    expect((await mlflow('POST', 'runs/log-metric', { run_id: runId, key: 'late', value: 1, timestamp: 1 })).body.error_code).toBe(
      'INVALID_PARAMETER_VALUE',
    );
    await mlflow('POST', 'runs/restore', { run_id: runId });
  });

  it('uploads, lists and downloads artifacts through the proxied artifact API, checking the run’s experiment', async () => {
    const base = `${server.url}/tandem/mlflow/api/2.0/mlflow-artifacts/artifacts`;
    const auth = { authorization: `Bearer ${alice.token}` };
    // MLflow's client sends each file with its guessed content type: JSON must not be parsed.
    const put = await fetch(`${base}/${experimentId}/${runId}/artifacts/eval/metrics.json`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"auc": 0.9}',
    });
    expect(put.status).toBe(200);
    const listed = await fetch(`${base}?path=${experimentId}/${runId}/artifacts`, { headers: auth });
    expect(await listed.json()).toEqual({ files: [{ path: 'eval', is_dir: true }] });
    const inside = await fetch(`${base}?path=${experimentId}/${runId}/artifacts/eval`, { headers: auth });
    expect(await inside.json()).toEqual({ files: [{ path: 'metrics.json', is_dir: false, file_size: 12 }] });
    const got = await fetch(`${base}/${experimentId}/${runId}/artifacts/eval/metrics.json`, { headers: auth });
    expect(await got.text()).toBe('{"auc": 0.9}');
    const wrongExperiment = await fetch(`${base}/${bob.id}/${runId}/artifacts/eval/metrics.json`, { headers: auth });
    expect({ status: wrongExperiment.status, code: ((await wrongExperiment.json()) as { error_code: string }).error_code }).toEqual({
      status: 404,
      code: 'RESOURCE_DOES_NOT_EXIST',
    });
    const bobs = await fetch(`${base}/${experimentId}/${runId}/artifacts/x.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${bob.token}` },
      body: 'x',
    });
    expect(bobs.status).toBe(403);
  });
});
