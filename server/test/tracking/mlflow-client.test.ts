// The real MLflow Python client (mlflow-skinny from PyPI, in requirements-dev.txt) against
// Tandem's MLflow-compatible API: an unchanged MLflow-instrumented training script, then checks
// through the Tandem API of what it logged, whose it is, and who else may see it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { venvPython } from '../../src/worker/python.js';
import { workerToken } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);

const TRAINING = `
import json, os, tempfile
import mlflow
from mlflow import MlflowClient

mlflow.set_experiment("churn-mlflow")
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_params({"lr": 0.01, "depth": 4})
    for step in range(20):
        mlflow.log_metrics({"loss": 1.0 / (step + 1), "acc": 0.5 + step * 0.02}, step=step)
    mlflow.set_tag("team", "growth")
    summary = os.path.join(tempfile.mkdtemp(), "summary.txt")
    with open(summary, "w") as f:
        f.write("trained")
    mlflow.log_artifact(summary)
    mlflow.log_artifact(summary, artifact_path="reports")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_param("fold", 1)
        mlflow.log_metric("acc", 0.7)

client = MlflowClient()
found = mlflow.search_runs(filter_string="metrics.acc > 0.6 and params.lr = '0.01'", order_by=["metrics.acc DESC"])
nested = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
try:
    client.log_param(parent.info.run_id, "lr", 0.5)
    changed = None
except mlflow.exceptions.MlflowException as e:
    changed = e.error_code
default_run = client.create_run("0")
client.set_terminated(default_run.info.run_id)
print(json.dumps({
    "experiment": parent.info.experiment_id,
    "parent": parent.info.run_id,
    "child": child.info.run_id,
    "found": found["run_id"].tolist(),
    "found_acc": found["metrics.acc"].tolist(),
    "nested": nested["run_id"].tolist(),
    "history": [[m.step, m.value] for m in client.get_metric_history(parent.info.run_id, "loss")],
    "artifacts": sorted(f.path for f in client.list_artifacts(parent.info.run_id)),
    "reports": [f.path for f in client.list_artifacts(parent.info.run_id, "reports")],
    "downloaded": open(mlflow.artifacts.download_artifacts(run_id=parent.info.run_id, artifact_path="reports/summary.txt")).read(),
    "status": client.get_run(parent.info.run_id).info.status,
    "changed_param": changed,
    "default_experiment": client.get_experiment(default_run.info.experiment_id).name,
}))
`;

/** Reads one run as another token: the MLflow error code it gets, or OK. */
const PROBE = `
import json, os, sys
import mlflow
from mlflow import MlflowClient
out = {}
for name, token in json.loads(sys.argv[1]).items():
    os.environ["MLFLOW_TRACKING_TOKEN"] = token
    try:
        MlflowClient().get_run(sys.argv[2])
        out[name] = "OK"
    except mlflow.exceptions.MlflowException as e:
        out[name] = f"{e.error_code} {e.message[:300]}"
print(json.dumps(out))
`;

describe('the MLflow Python client against /tandem/mlflow', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let dir: string;
  let result: Record<string, any>;

  /** Runs a Python script with the MLflow client pointed at this server as `token`. */
  const python = async (script: string, token: string, args: string[] = []) => {
    const file = path.join(dir, `script-${Math.random().toString(36).slice(2)}.py`);
    await writeFile(file, script);
    const { stdout } = await run(venvPython(), [file, ...args], {
      cwd: dir,
      timeout: 120_000,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        MLFLOW_TRACKING_URI: `${server.url}/tandem/mlflow`,
        MLFLOW_TRACKING_TOKEN: token,
        // Fail at once instead of the client's minutes of retries, and send nothing anywhere else.
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
        MLFLOW_DISABLE_TELEMETRY: 'true',
        DO_NOT_TRACK: 'true',
        GIT_PYTHON_REFRESH: 'quiet',
      },
    }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`python failed (is mlflow-skinny installed? npm run setup): ${error.stderr ?? error.message}`);
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, any>;
  };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    alice = await server.user('alice');
    bob = await server.user('bob');
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-mlflow-'));
    result = await python(TRAINING, alice.token);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs the script’s experiment into Tandem, owned by the token’s user', async () => {
    const experiment = await server.api('GET', `experiments/${result.experiment}`, { token: alice.token });
    expect(experiment.body).toMatchObject({ name: 'churn-mlflow', createdBy: alice.id, createdByName: 'alice', role: 'owner' });
  });

  it('keeps the parent run’s params, full metric series, tags, status and user', async () => {
    const parent = (await server.api('GET', `runs/${result.parent}`, { token: alice.token })).body;
    expect(parent).toMatchObject({
      name: 'parent',
      status: 'FINISHED',
      userId: alice.id,
      userName: 'alice',
      params: { lr: '0.01', depth: '4' },
      tags: expect.objectContaining({ team: 'growth', 'mlflow.source.name': expect.any(String) }),
      metrics: { loss: { value: 0.05, step: 19, timestamp: expect.any(Number) }, acc: expect.objectContaining({ step: 19 }) },
    });
    const loss = await server.api('GET', `runs/${result.parent}/metrics/loss?limit=100`, { token: alice.token });
    expect(loss.body.items.map((p: { step: number }) => p.step)).toEqual([...Array(20).keys()]);
    expect(loss.body.items[1].value).toBe(0.5);
    expect(result.history).toEqual([...Array(20).keys()].map((step) => [step, 1 / (step + 1)]));
    expect(result.status).toBe('FINISHED');
  });

  it('nests the child run under the parent, visible to MLflow’s own parent filter', async () => {
    const child = (await server.api('GET', `runs/${result.child}`, { token: alice.token })).body;
    expect(child).toMatchObject({ name: 'child', parentRunId: result.parent, params: { fold: '1' }, status: 'FINISHED' });
    expect(result.nested).toEqual([result.child]);
  });

  it('answers mlflow.search_runs with the filter and ordering applied', () => {
    expect(result.found).toEqual([result.parent]);
    expect(result.found_acc[0]).toBeCloseTo(0.88);
  });

  it('stores log_artifact files in the artifact store with their sha256, listed and downloaded through both APIs', async () => {
    expect(result.artifacts).toEqual(['reports', 'summary.txt']);
    expect(result.reports).toEqual(['reports/summary.txt']);
    expect(result.downloaded).toBe('trained');
    const listed = await server.api('GET', `runs/${result.parent}/artifacts`, { token: alice.token });
    const sha256 = createHash('sha256').update('trained').digest('hex');
    expect(listed.body.items).toEqual([
      { path: 'reports/summary.txt', size: 7, sha256, createdAt: expect.any(String) },
      { path: 'summary.txt', size: 7, sha256, createdAt: expect.any(String) },
    ]);
    const file = await fetch(`${server.url}/tandem/api/runs/${result.parent}/artifacts/summary.txt`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect({ status: file.status, sha256: file.headers.get('x-tandem-sha256'), text: await file.text() }).toEqual({
      status: 200,
      sha256,
      text: 'trained',
    });
  });

  it('refuses to change a logged param with MLflow’s INVALID_PARAMETER_VALUE', () => {
    expect(result.changed_param).toBe('INVALID_PARAMETER_VALUE');
  });

  it('puts runs of experiment "0" in the caller’s own Default experiment', async () => {
    expect(result.default_experiment).toBe('Default');
    const mine = await server.api('GET', `experiments?filter=${encodeURIComponent("name = 'Default'")}`, { token: alice.token });
    expect(mine.body.items).toEqual([expect.objectContaining({ name: 'Default', createdBy: alice.id })]);
  });

  it('shows none of it to another user, through either API', async () => {
    expect((await server.api('GET', `runs/${result.parent}`, { token: bob.token })).status).toBe(404);
    expect((await server.api('GET', `experiments/${result.experiment}`, { token: bob.token })).status).toBe(404);
    expect((await server.api('GET', 'runs', { token: bob.token })).body.items).toEqual([]);
    expect((await server.api('GET', 'experiments', { token: bob.token })).body.items).toEqual([]);
    expect((await server.api('GET', `runs/${result.parent}/artifacts/summary.txt`, { token: bob.token })).status).toBe(404);
  });

  it('refuses another user’s, a worker’s and a revoked token in the MLflow client', async () => {
    const revoked = await server.api('POST', 'tokens', { token: alice.token, body: { name: 'laptop' } });
    expect((await server.api('DELETE', `tokens/${revoked.body.id}`, { token: alice.token })).status).toBe(204);
    const tokens = {
      owner: alice.token,
      bob: bob.token,
      worker: await workerToken(server, alice.token),
      revoked: revoked.body.token as string,
    };
    const probed = await python(PROBE, alice.token, [JSON.stringify(tokens), result.parent]);
    expect(probed).toEqual({
      owner: 'OK',
      bob: expect.stringMatching(/^RESOURCE_DOES_NOT_EXIST .*not found/),
      worker: expect.stringMatching(/^PERMISSION_DENIED .*worker tokens/),
      // Tokens are checked before any feature's routes, so this refusal has Tandem's error shape.
      revoked: expect.stringMatching(/UNAUTHENTICATED.*invalid or revoked API token/),
    });
  });
});
