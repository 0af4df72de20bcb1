// Model serving benchmark (run by `npm run bench`, or `node server/bench/serving.bench.mjs`):
// Tandem's predict route against FastAPI + onnxruntime (one uvicorn worker) serving the same ONNX
// file in the same run: a 20-feature gradient-boosted regressor with 50 trees (scikit-learn,
// exported by skl2onnx), single-row JSON requests.
//  1. throughput and p50/p99 at concurrency 1, 8 and 32 from one load generator (below), the same
//     for both servers (targets at c=8: Tandem ≥ 2× FastAPI's throughput, Tandem p99 ≤ 5 ms);
//  2. the alias moves between two versions every MOVE_EVERY_MS under load (target: 0 failed requests).
// Tandem runs as `tandem serve` in its own process on real PostgreSQL, as deployed: requests carry a
// deployment key, /metrics and logging are on at their defaults, and every prediction is written to
// the prediction log (logSampleRate 1, the most it costs). The model is registered through
// the API with its signature (20 named float columns), so requests send named fields on both sides.
// The targets are against the issue's peer, FastAPI under uvicorn as `pip install fastapi uvicorn`
// runs it (h11, asyncio); the same app under uvicorn with httptools + uvloop (what
// `uvicorn[standard]` adds) is measured beside it for information. Both get an async handler, no
// access log and one onnxruntime thread (as Tandem's sessions), so the event loop keeps the other core.
// The peer's versions are pinned in serving-peer-requirements.txt, installed into its own venv.
// BENCH_SECONDS (8) per point after BENCH_WARMUP_SECONDS (4); BENCH_CONCURRENCY (1,8,32);
// BENCH_TANDEM_NODE_ARGS (node flags for the server, e.g. --cpu-prof); BENCH_LOG_SAMPLE_RATE (1).
import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, stopProcess, waitFor } from '../../scripts/lib/proc.mjs';
import { startPostgres } from '../../scripts/lib/services.mjs';
import { ensureBuild } from '../../scripts/lib/setup-steps.mjs';
import { ensurePeerVenv } from '../../scripts/lib/peer-venv.mjs';
import { verdict } from '../../scripts/lib/verdict.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
// 4 s: a server idle while the others were measured needs seconds to tier up and regrow its heap again.
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 4);
const LOG_SAMPLE_RATE = Number(process.env.BENCH_LOG_SAMPLE_RATE ?? 1);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,8,32').split(',').map(Number);
/** Where the issue's targets are set. */
const TARGET_CONCURRENCY = 8;
const MOVE_CONCURRENCY = 8;
const MOVE_EVERY_MS = 1000;
const FEATURES = 20;
const COLUMNS = Array.from({ length: FEATURES }, (_, i) => `f${i}`);
const MODEL = 'bench-gbm';
/** The peer as `uvicorn[standard]` runs it; information beside the issue's peer (plain `pip install uvicorn`). */
const UVLOOP = 'FastAPI (uvloop)';

const PEER = {
  name: 'serving-bench-venv',
  requirements: path.join(ROOT, 'server/bench/serving-peer-requirements.txt'),
  imports: ['fastapi', 'onnxruntime', 'skl2onnx'],
};

// Trains and exports one version; the seed makes v1 and v2 differ, so answers tell them apart.
const BUILD_MODEL_PY = `
import sys
import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType

out, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
x = rng.normal(size=(4000, ${FEATURES})).astype(np.float32)
y = 2 * x[:, 0] + np.sin(x[:, 1]) + x[:, 2] * x[:, 3] + rng.normal(scale=0.1, size=4000)
model = GradientBoostingRegressor(n_estimators=50, max_depth=3, random_state=seed).fit(x, y)
# ai.onnx.ml opset 3: TreeEnsembleRegressor as every onnxruntime build (Node's too) runs it.
onx = convert_sklearn(model, initial_types=[("features", FloatTensorType([None, ${FEATURES}]))],
                      target_opset={"": 17, "ai.onnx.ml": 3})
open(out, "wb").write(onx.SerializeToString())
`;

// The peer: the FastAPI service a team would write around the same file.
const PEER_APP_PY = `
import os
import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

COLUMNS = [f"f{i}" for i in range(${FEATURES})]
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(os.environ["BENCH_MODEL"], options, providers=["CPUExecutionProvider"])
app = FastAPI()

class Body(BaseModel):
    rows: list[dict[str, float]]

@app.get("/health")
async def health():
    return {"ok": True}

@app.post("/predict")
async def predict(body: Body):
    try:
        x = np.array([[row[c] for c in COLUMNS] for row in body.rows], dtype=np.float32)
    except KeyError as missing:
        raise HTTPException(400, f"missing field {missing}")
    y = session.run(None, {"features": x})[0]
    return {"predictions": y[:, 0].tolist()}
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

function buildModels(python, scratch) {
  const script = path.join(scratch, 'build_model.py');
  writeFileSync(script, BUILD_MODEL_PY);
  return [1, 2].map((seed) => {
    const file = path.join(scratch, `model-v${seed}.onnx`);
    const res = spawnSync(python, [script, file, String(seed)], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`building the bench model failed:\n${res.stderr}`);
    return file;
  });
}

/** One JSON call of the Tandem API, as the admin. */
async function api(tandem, method, apiPath, body, headers = {}) {
  const res = await fetch(`${tandem.url}/tandem/api/${apiPath}`, {
    method,
    headers: {
      authorization: `Bearer ${tandem.token}`,
      ...(body && !Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const json = res.status === 204 ? undefined : await res.json();
  if (!res.ok) throw new Error(`${method} ${apiPath}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function startTandem(scratch) {
  const pg = await startPostgres({ dir: path.join(scratch, 'pg'), logFile: path.join(scratch, 'pg.log') });
  const port = await freePort();
  // The default log level (info), as deployed: its lines go to a file, not the bench's output.
  // BENCH_TANDEM_NODE_ARGS: extra node flags for the server, e.g. `--cpu-prof` to profile it.
  const nodeArgs = (process.env.BENCH_TANDEM_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = startProcess('node', [...nodeArgs, path.join(ROOT, 'server/dist/src/cli.js'), 'serve'], {
    env: { TANDEM_HOME: path.join(scratch, 'tandem'), TANDEM_PORT: String(port), TANDEM_DATABASE_URL: pg.url },
    name: 'tandem',
    logStream: createWriteStream(path.join(scratch, 'tandem.log')),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('Tandem server', async () => (await fetch(`${url}/healthz`)).ok, { child });
  const token = readFileSync(path.join(scratch, 'tandem/token'), 'utf8').trim();
  return {
    url,
    port,
    token,
    stop: async () => {
      await stopProcess(child);
      await pg.stop();
    },
  };
}

/** Registers both versions with their signature, serves alias `prod` (v1) and makes a deployment key. */
async function deploy(tandem, files) {
  const signature = {
    inputs: COLUMNS.map((name) => ({ name, type: 'float32' })),
    outputs: [{ name: 'variable', type: 'float32' }],
  };
  let fullName = MODEL;
  for (const file of files) {
    const started = await api(tandem, 'POST', `models/${encodeURIComponent(fullName)}/uploads`, { createModel: true, signature });
    fullName = started.model;
    const uploads = `models/${encodeURIComponent(fullName)}/uploads/${started.uploadId}`;
    await api(tandem, 'PUT', `${uploads}/files/model.onnx`, readFileSync(file), { 'content-type': 'application/octet-stream' });
    await api(tandem, 'POST', `${uploads}/commit`);
  }
  await api(tandem, 'PUT', `models/${encodeURIComponent(fullName)}/aliases/prod`, { version: 1 });
  const deployment = await api(tandem, 'POST', 'deployments', { model: fullName, alias: 'prod', logSampleRate: LOG_SAMPLE_RATE });
  const { secret } = await api(tandem, 'POST', `deployments/${deployment.id}/keys`, { name: 'bench' });
  const ready = `${tandem.url}${deployment.endpoint.replace(/\/predict$/, '/ready')}`;
  await waitFor('the deployment to load', async () => (await fetch(ready, { headers: { authorization: `Bearer ${secret}` } })).ok);
  return { fullName, path: deployment.endpoint, key: secret };
}

/** uvicorn with `http`/`loop` as named: h11 + asyncio (what `pip install uvicorn` runs), or httptools + uvloop. */
async function startFastApi(python, scratch, model, { http: protocol, loop }) {
  writeFileSync(path.join(scratch, 'peer_app.py'), PEER_APP_PY);
  const port = await freePort();
  const child = startProcess(
    python,
    [
      ...['-m', 'uvicorn', 'peer_app:app', '--host', '127.0.0.1', '--port', String(port), '--workers', '1'],
      ...['--http', protocol, '--loop', loop, '--log-level', 'warning', '--no-access-log'],
    ],
    {
      cwd: scratch,
      env: { BENCH_MODEL: model },
      name: `fastapi-${protocol}`,
      logStream: createWriteStream(path.join(scratch, `fastapi-${protocol}.log`)),
    },
  );
  await waitFor('FastAPI', async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, { child });
  return { port, stop: () => stopProcess(child) };
}

/** A single-row body; values vary per request (the same set for both servers), so no cache of answers helps. */
function bodies(count) {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  return Array.from({ length: count }, () =>
    Buffer.from(JSON.stringify({ rows: [Object.fromEntries(COLUMNS.map((c) => [c, Number((random() * 4).toFixed(4))]))] })),
  );
}
const BODIES = bodies(256);

/**
 * The load generator: `concurrency` loops, each sending its next request as soon as the previous
 * answered, over keep-alive connections (one per loop), for WARMUP_SECONDS unrecorded and then
 * `seconds` recorded. Answers are read to the end; `onAnswer(status, text)` (when given) gets
 * each recorded answer's body.
 */
async function load({ port, path: urlPath, headers = {}, concurrency, seconds = SECONDS, warmup = WARMUP_SECONDS, onAnswer, during }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies = [];
  const failures = new Map();
  let ok = 0;
  const fail = (why) => failures.set(why, (failures.get(why) ?? 0) + 1);
  const send = (body) =>
    new Promise((resolve) => {
      const req = http.request(
        {
          agent,
          host: '127.0.0.1',
          port,
          path: urlPath,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers },
        },
        (res) => {
          const chunks = onAnswer ? [] : undefined;
          res.on('data', (chunk) => chunks?.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode, text: chunks && Buffer.concat(chunks).toString() }));
          res.on('error', (error) => resolve({ status: 0, error }));
        },
      );
      req.on('error', (error) => resolve({ status: 0, error }));
      req.end(body);
    });
  const start = performance.now();
  const recordFrom = start + warmup * 1000;
  const end = recordFrom + seconds * 1000;
  let n = 0;
  const loop = async () => {
    for (;;) {
      const t = performance.now();
      if (t >= end) return;
      const answer = await send(BODIES[n++ % BODIES.length]);
      const done = performance.now();
      if (t < recordFrom) continue;
      if (answer.status === 200) {
        ok++;
        latencies.push(done - t);
        onAnswer?.(answer.text);
      } else {
        fail(answer.error ? `${answer.error.code ?? answer.error.message}` : `HTTP ${answer.status}`);
        // A refused connection would otherwise spin this loop.
        if (answer.error) await sleep(1);
      }
    }
  };
  const side = during ? sleep(warmup * 1000).then(() => during(end)) : undefined;
  await Promise.all([...Array.from({ length: concurrency }, loop), side]);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const errors = [...failures.values()].reduce((a, b) => a + b, 0);
  return {
    rps: ok / seconds,
    p50: percentile(latencies, 50) ?? NaN,
    p99: percentile(latencies, 99) ?? NaN,
    ok,
    errors,
    failures: Object.fromEntries(failures),
  };
}

const fmt = (r) =>
  `${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(6)} ms${r.errors ? `  errors ${JSON.stringify(r.failures)}` : ''}`;

async function main() {
  await ensureBuild();
  const python = ensurePeerVenv(PEER).python;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'tandem-serving-bench-'));
  await chmod(scratch, 0o755); // PostgreSQL runs as its own user when we are root
  const stops = [];
  try {
    const files = buildModels(python, scratch);
    const tandem = await startTandem(scratch);
    stops.unshift(tandem.stop);
    const deployed = await deploy(tandem, files);
    const peer = await startFastApi(python, scratch, files[0], { http: 'h11', loop: 'asyncio' });
    stops.unshift(peer.stop);
    const fastPeer = await startFastApi(python, scratch, files[0], { http: 'httptools', loop: 'uvloop' });
    stops.unshift(fastPeer.stop);

    const targets = {
      Tandem: { port: tandem.port, path: deployed.path, headers: { authorization: `Bearer ${deployed.key}` } },
      FastAPI: { port: peer.port, path: '/predict' },
      [UVLOOP]: { port: fastPeer.port, path: '/predict' },
    };
    // All answer the same rows with the same file: a bench of different models means nothing.
    const [probe] = BODIES;
    const answers = await Promise.all(
      Object.values(targets).map(async (t) =>
        (
          await fetch(`http://127.0.0.1:${t.port}${t.path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...t.headers },
            body: probe,
          })
        ).json(),
      ),
    );
    const same = answers.every((x) => Math.abs(x.predictions[0] - answers[0].predictions[0]) < 1e-4);
    console.log(
      `same answer from all: ${Object.keys(targets)
        .map((name, i) => `${name} ${answers[i].predictions[0]}`)
        .join(', ')}`,
    );

    const results = {};
    console.log(`single-row JSON predictions, ${SECONDS} s per point after ${WARMUP_SECONDS} s of warm-up, ${os.cpus().length} cores:`);
    for (const [i, c] of CONCURRENCY.entries()) {
      results[c] = {};
      // Rotating which server goes first spreads the drift of a shared machine over all of them.
      const names = Object.keys(targets);
      const order = [...names.slice(i % names.length), ...names.slice(0, i % names.length)];
      for (const name of order) {
        results[c][name] = await load({ ...targets[name], concurrency: c });
        console.log(`  c=${String(c).padEnd(3)} ${name.padEnd(16)} ${fmt(results[c][name])}`);
      }
      const t = results[c].Tandem;
      for (const name of ['FastAPI', UVLOOP]) {
        const f = results[c][name];
        console.log(
          `  c=${String(c).padEnd(3)} Tandem / ${name.padEnd(7)} throughput ${(t.rps / f.rps).toFixed(2)}×, p99 ${(t.p99 / f.p99).toFixed(2)}×`,
        );
      }
    }

    // Alias moves under load: every request must answer 200, from v1 or v2.
    const versions = new Map();
    let moves = 0;
    const moved = await load({
      ...targets.Tandem,
      concurrency: MOVE_CONCURRENCY,
      onAnswer: (text) => {
        const v = JSON.parse(text).version;
        versions.set(v, (versions.get(v) ?? 0) + 1);
      },
      during: async (end) => {
        while (performance.now() + MOVE_EVERY_MS < end) {
          await sleep(MOVE_EVERY_MS);
          await api(tandem, 'PUT', `models/${encodeURIComponent(deployed.fullName)}/aliases/prod`, { version: moves % 2 === 0 ? 2 : 1 });
          moves++;
        }
      },
    });
    console.log(
      `alias moves under load (c=${MOVE_CONCURRENCY}, ${moves} moves): ${fmt(moved)}; answers by version ${JSON.stringify(Object.fromEntries(versions))}`,
    );

    const at = results[TARGET_CONCURRENCY];
    if (at) {
      const { Tandem: t, FastAPI: f, [UVLOOP]: u } = at;
      const clean = t.errors === 0 && f.errors === 0 && u.errors === 0 && same;
      const note = clean
        ? `vs FastAPI on uvloop + httptools: ${(t.rps / u.rps).toFixed(2)}× (${u.rps.toFixed(0)} req/s), p99 ${u.p99.toFixed(2)} ms`
        : same
          ? 'requests failed during the measurement'
          : 'the servers answered differently';
      verdict({
        bench: 'serving',
        name: `throughput vs FastAPI + onnxruntime, c=${TARGET_CONCURRENCY}`,
        value: t.rps / f.rps,
        op: '>=',
        limit: 2,
        target: '≥ 2× FastAPI',
        measured: `${(t.rps / f.rps).toFixed(2)}× (${t.rps.toFixed(0)} vs ${f.rps.toFixed(0)} req/s)`,
        pass: clean,
        note,
      });
      verdict({
        bench: 'serving',
        name: `p99 latency, c=${TARGET_CONCURRENCY}`,
        value: t.p99,
        op: '<=',
        limit: 5,
        target: '≤ 5 ms',
        measured: `${t.p99.toFixed(2)} ms (FastAPI ${f.p99.toFixed(2)} ms, on uvloop ${u.p99.toFixed(2)} ms)`,
        pass: clean,
        ...(clean ? {} : { note }),
      });
    }
    verdict({
      bench: 'serving',
      name: 'failed requests while the alias moves',
      // As the share answered, since a ratio to a limit of 0 is undefined: 1 is every request answered.
      value: moved.ok / (moved.ok + moved.errors),
      op: '>=',
      limit: 1,
      target: '0 failed',
      measured: `${moved.errors} of ${moved.ok + moved.errors} (${moves} moves)`,
      // Zero errors prove nothing unless both versions answered.
      pass: moves > 0 && versions.size === 2,
      ...(versions.size === 2 ? {} : { note: 'the answers did not come from both versions' }),
    });
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
