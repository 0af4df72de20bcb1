// Experiment tracking benchmark (run by `npm run bench`, or `node server/bench/tracking.bench.mjs`):
// Tandem's tracking against the MLflow tracking server (pinned in tracking-peer-requirements.txt),
// both on one real PostgreSQL cluster started here (a database each), on this machine, in this run.
// MLflow runs with one worker (its GenAI job runner off); Tandem is its own server process; each is
// measured alone, the other stopped, and the report gives the machine's load average (other work
// on a 2-core machine inflates every latency). Both are driven over HTTP by the
// same client code (Node fetch, keep-alive, BENCH_CLIENTS concurrent clients), with MLflow's REST
// calls on both sides (Tandem's MLflow-compatible API at /tandem/mlflow); Tandem's native API
// (/tandem/api/runs) is measured beside it.
//  1. runs/s: create a run, log 11 metrics + 2 params, end it (target: Tandem ≥ 10× MLflow);
//  2. metric points/s: log-batch calls of 1000 points (target: Tandem ≥ 10× MLflow);
//  3. search p50/p95 over BENCH_SEARCH_RUNS (100k) runs of one experiment, with a metric and a
//     param filter and a metric ordering, 100 runs a page (target: Tandem p95 ≤ 20 ms);
//  4. metric history p50 of a 10k-step metric (information).
// The search corpus is seeded by the same direct SQL insert on both sides (into each server's own
// tables, same runs, params and metric values; the servers' APIs would take minutes for 100k runs):
// see "the search corpus" below. BENCH_CLIENTS (4), BENCH_SECONDS (5 per throughput figure), BENCH_SEARCH_RUNS
// (100000), BENCH_SEARCHES (200 per path; MLflow's stop after BENCH_PEER_SEARCH_SECONDS, 30).
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, startProcess, stopProcess, waitFor } from '../../scripts/lib/proc.mjs';
import { startPostgres } from '../../scripts/lib/services.mjs';
import { ensureBuild } from '../../scripts/lib/setup-steps.mjs';
import { ensurePeerVenv, readPins } from '../../scripts/lib/peer-venv.mjs';
import { percentile } from '../../scripts/lib/stats.mjs';
import { verdict } from '../../scripts/lib/verdict.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SEARCH_RUNS = Number(process.env.BENCH_SEARCH_RUNS ?? 100_000);
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 200);
const PEER_SEARCH_SECONDS = Number(process.env.BENCH_PEER_SEARCH_SECONDS ?? 30);
const HISTORY_STEPS = 10_000;
const HISTORY_READS = 30;
const HISTORY_SECONDS = 10;
const BATCH_POINTS = 1000;
/** Calls in the first seconds warm up JITs, plans and connections on both sides; they are not counted. */
const WARMUP_S = 2;
const PEER = {
  name: 'mlflow-bench-venv',
  requirements: path.join(ROOT, 'server/bench/tracking-peer-requirements.txt'),
  imports: ['mlflow.server', 'psycopg2'],
};
const PEER_PINS = readPins(PEER.requirements);

/** A rate: whole numbers, or two significant digits below 100 (MLflow's runs/s are below 1 on a busy machine). */
const rate = (n) => (n >= 100 ? fmt(n) : n.toPrecision(2));
const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** JSON over HTTP with keep-alive (fetch's default), the one client both servers get. */
function client(base, headers = {}) {
  return async (method, apiPath, body) => {
    const res = await fetch(`${base}${apiPath}`, {
      method,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${apiPath} answered ${res.status}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : {};
  };
}

async function startTandem(scratch, databaseUrl) {
  const port = await freePort();
  const home = path.join(scratch, 'tandem');
  const child = startProcess('node', [path.join(ROOT, 'server/dist/src/cli.js'), 'serve'], {
    env: { TANDEM_HOME: home, TANDEM_PORT: String(port), TANDEM_DATABASE_URL: databaseUrl, TANDEM_LOG_LEVEL: 'warn' },
    name: 'tandem',
    logStream: createWriteStream(path.join(scratch, 'tandem.log')),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('Tandem server', async () => (await fetch(`${url}/healthz`)).ok, { child });
  const admin = client(`${url}/tandem/api`, { authorization: `Bearer ${readFileSync(path.join(home, 'token'), 'utf8').trim()}` });
  // A person without admin rights, as a data scientist's token is: every call checks their grants.
  const { token } = await admin('POST', '/users', { name: 'bench-scientist' });
  const auth = { authorization: `Bearer ${token}` };
  return {
    name: 'Tandem',
    mlflow: client(`${url}/tandem/mlflow/api/2.0/mlflow`, auth),
    native: client(`${url}/tandem/api`, auth),
    stop: () => stopProcess(child),
  };
}

async function startMlflow(scratch, databaseUrl) {
  const python = ensurePeerVenv(PEER).python;
  const port = await freePort();
  mkdirSync(path.join(scratch, 'mlflow-artifacts'), { recursive: true });
  const child = startProcess(
    python,
    [
      '-m',
      'mlflow',
      'server',
      '--backend-store-uri',
      // psycopg2 by name: MLflow's SQLAlchemy would pick psycopg (3) for a plain postgresql:// URI.
      databaseUrl.replace(/^postgres:/, 'postgresql+psycopg2:'),
      '--artifacts-destination',
      path.join(scratch, 'mlflow-artifacts'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    // Its own process group: the server starts its worker as a child. Its job runner (GenAI
    // evaluation jobs, no part of tracking) stays off: its idle consumers would only take CPU.
    {
      name: 'mlflow',
      group: true,
      env: { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' },
      logStream: createWriteStream(path.join(scratch, 'mlflow.log')),
    },
  );
  const url = `http://127.0.0.1:${port}`;
  // The first start creates MLflow's schema (alembic migrations).
  await waitFor('MLflow server', async () => (await fetch(`${url}/health`)).ok, { child, timeoutMs: 180_000, intervalMs: 500 });
  return { name: `MLflow ${PEER_PINS.mlflow}`, mlflow: client(`${url}/api/2.0/mlflow`), stop: () => stopProcess(child) };
}

/**
 * Runs `op(client, i)` in a loop on CLIENTS concurrent clients for WARMUP_S + `seconds`; answers the
 * units per second done after the warm-up (`op` answers how many units it did).
 */
async function throughput(op, seconds = SECONDS) {
  const start = performance.now();
  const warm = start + WARMUP_S * 1000;
  const end = warm + seconds * 1000;
  let units = 0;
  let lastCounted = warm;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      // Until the time is up, and at least one counted call per client however slow the server.
      for (let i = 0, counted = 0; performance.now() < end || counted === 0; i++) {
        const t = performance.now();
        const done = await op(c, i);
        if (t >= warm) {
          units += done;
          counted += 1;
          lastCounted = Math.max(lastCounted, performance.now());
        }
      }
    }),
  );
  return units / ((lastCounted - warm) / 1000);
}

const now = () => Date.now();
/** The 11 metrics and 2 params of one run, as MLflow's REST API spells them. */
const runMetrics = (i) =>
  Array.from({ length: 11 }, (_, k) => ({ key: `m${k}`, value: ((i * 7 + k) % 100) / 100, timestamp: now(), step: 0 }));
const runParams = (i) => [
  { key: 'optimizer', value: i % 2 ? 'adam' : 'sgd' },
  { key: 'lr', value: String(10 ** -(1 + (i % 4))) },
];

/** Create + log 11 metrics and 2 params + end, through MLflow's REST calls (MLflow, or Tandem's MLflow API). */
function mlflowRun(target, experimentId) {
  return async (c, i) => {
    const { run } = await target.mlflow('POST', '/runs/create', {
      experiment_id: experimentId,
      start_time: now(),
      run_name: `r-${c}-${i}`,
    });
    const runId = run.info.run_id;
    await target.mlflow('POST', '/runs/log-batch', { run_id: runId, metrics: runMetrics(i), params: runParams(i) });
    await target.mlflow('POST', '/runs/update', { run_id: runId, status: 'FINISHED', end_time: now() });
    return 1;
  };
}

/** The same run through Tandem's own API: params come along at create. */
function nativeRun(target, experimentId) {
  return async (c, i) => {
    const run = await target.native('POST', '/runs', {
      experimentId,
      name: `n-${c}-${i}`,
      params: Object.fromEntries(runParams(i).map((p) => [p.key, p.value])),
    });
    const metrics = runMetrics(i).map(({ key, value, step, timestamp }) => ({ key, value, step, timestamp }));
    await target.native('POST', `/runs/${run.id}/log`, { metrics });
    await target.native('PATCH', `/runs/${run.id}`, { status: 'FINISHED' });
    return 1;
  };
}

/** BATCH_POINTS points: 10 keys × 100 consecutive steps, from step `from`. */
const points = (from) =>
  Array.from({ length: BATCH_POINTS }, (_, j) => ({
    key: `loss${j % 10}`,
    value: 1 / (1 + from + Math.floor(j / 10)),
    timestamp: now(),
    step: from + Math.floor(j / 10),
  }));

async function pointsThroughput(target, experimentId, native = false) {
  // A run per client, as training processes would have.
  const runs = [];
  for (let c = 0; c < CLIENTS; c++) {
    runs.push(
      native
        ? (await target.native('POST', '/runs', { experimentId, name: `points-native-${c}` })).id
        : (await target.mlflow('POST', '/runs/create', { experiment_id: experimentId, start_time: now(), run_name: `points-${c}` })).run
            .info.run_id,
    );
  }
  return throughput(async (c, i) => {
    const batch = points(i * (BATCH_POINTS / 10));
    if (native) await target.native('POST', `/runs/${runs[c]}/log`, { metrics: batch });
    else await target.mlflow('POST', '/runs/log-batch', { run_id: runs[c], metrics: batch });
    return BATCH_POINTS;
  });
}

// ---- the search corpus, inserted directly into each server's tables
//
// Both seeds write the same runs (finished, one a second back in time), the same two params
// (optimizer: 4 values, lr: 5) and the same latest values of 11 metrics m0..m10 (uniform in
// [0, 1)), in the server's own layout: its run rows, param rows, run name (a tag row for MLflow,
// a column for Tandem) and latest-metric rows, which are what a search reads. Metric series rows
// are not written (no search reads them; 1.1M of them on each side would double the seeding).
// Foreign-key triggers are off for the seeding session (session_replication_role = replica,
// PostgreSQL's bulk-load switch; the rows are consistent by construction) and rows go in key
// order, then VACUUM ANALYZE leaves both databases as autovacuum would, and a CHECKPOINT writes
// the seed out before either is searched.

/** Values shared by both seeds: run i's metrics m0..m10 and its params, as SQL over generate_series i and k. */
const SEED_VALUE = `((i::bigint * 2654435761 + k * 40503) % 1000003)::float8 / 1000003`;
const SEED_OPTIMIZER = `(ARRAY['adam', 'sgd', 'rmsprop', 'adagrad'])[1 + i % 4]`;
const SEED_LR = `'1e-' || (1 + i % 5)`;
const SEED_RUNS = `(SELECT i, md5('seed-' || i) AS id FROM generate_series(1, ${SEARCH_RUNS}) AS i) AS s`;
const SEED_METRICS = `${SEED_RUNS} CROSS JOIN generate_series(0, 10) AS k`;

async function seed(db, statements) {
  const t = performance.now();
  await db.query('SET session_replication_role = replica');
  for (const sql of statements) await db.query(sql);
  await db.query('SET session_replication_role = DEFAULT');
  await db.query('VACUUM ANALYZE');
  // The seed's gigabyte of dirty pages is written now, not by the checkpointer during the searches.
  await db.query('CHECKPOINT');
  return performance.now() - t;
}

async function seedTandem(db, experimentId) {
  const { rows } = await db.query('SELECT created_by FROM experiments WHERE id = $1', [experimentId]);
  const [experiment, owner] = [pg.escapeLiteral(experimentId), pg.escapeLiteral(rows[0].created_by)];
  return seed(db, [
    `INSERT INTO runs (id, experiment_id, name, status, start_time, end_time, created_by, heartbeat_timeout_s, last_seen_at)
     SELECT id, ${experiment}, 'seed-' || i, 'FINISHED', now() - make_interval(secs => i),
            now() - make_interval(secs => i) + interval '1 minute', ${owner}, 3600, now()
     FROM ${SEED_RUNS} ORDER BY id`,
    `INSERT INTO run_params (run_id, key, value)
     SELECT id, key, value FROM ${SEED_RUNS}, LATERAL (VALUES ('lr', ${SEED_LR}), ('optimizer', ${SEED_OPTIMIZER})) AS p(key, value)
     ORDER BY id, key`,
    `INSERT INTO run_latest_metrics (run_id, experiment_id, key, value, step, timestamp_ms)
     SELECT id, ${experiment}, 'm' || k, ${SEED_VALUE}, 0, 1700000000000 + i FROM ${SEED_METRICS} ORDER BY id, 'm' || k`,
  ]);
}

async function seedMlflow(db, experimentId) {
  const experiment = Number(experimentId);
  // MLflow's columns as its SQLAlchemy store writes a run (artifact_uri as its server sets it).
  return seed(db, [
    `INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time,
       source_version, lifecycle_stage, artifact_uri, experiment_id)
     SELECT id, 'seed-' || i, 'UNKNOWN', '', '', 'bench-scientist', 'FINISHED',
            (extract(epoch FROM now()) * 1000)::bigint - i * 1000, (extract(epoch FROM now()) * 1000)::bigint - i * 1000 + 60000,
            '', 'active', 'mlflow-artifacts:/${experiment}/' || id || '/artifacts', ${experiment}
     FROM ${SEED_RUNS} ORDER BY id`,
    `INSERT INTO tags (key, value, run_uuid) SELECT 'mlflow.runName', 'seed-' || i, id FROM ${SEED_RUNS} ORDER BY id`,
    `INSERT INTO params (key, value, run_uuid)
     SELECT key, value, id FROM ${SEED_RUNS}, LATERAL (VALUES ('lr', ${SEED_LR}), ('optimizer', ${SEED_OPTIMIZER})) AS p(key, value)
     ORDER BY key, id`,
    `INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)
     SELECT 'm' || k, ${SEED_VALUE}, 1700000000000 + i, 0, false, id FROM ${SEED_METRICS} ORDER BY 'm' || k, id`,
  ]);
}

/** The search shapes: a metric threshold and a param value (a few of each, so no one answer is cached), ordered by that metric. */
const SEARCH_SHAPES = [0.3, 0.5, 0.9].flatMap((threshold) =>
  ['adam', 'rmsprop'].map((optimizer) => ({
    filter: `metrics.m3 > ${threshold} AND params.optimizer = '${optimizer}'`,
    orderBy: 'metrics.m3 DESC',
  })),
);

/** Latencies (ms) of `count` searches (at most `seconds` of them), after one warm-up of each shape. */
async function searchLatencies(search, { count = SEARCHES, seconds = Infinity } = {}) {
  for (const shape of SEARCH_SHAPES) {
    const page = await search(shape);
    // Each shape matches thousands of runs at full size: a short page means the search is broken.
    if (page !== Math.min(100, Math.floor(SEARCH_RUNS / 100))) throw new Error(`search ${shape.filter} answered a page of ${page} runs`);
  }
  const times = [];
  const deadline = performance.now() + seconds * 1000;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const t = performance.now();
    await search(SEARCH_SHAPES[i % SEARCH_SHAPES.length]);
    times.push(performance.now() - t);
  }
  return times;
}

const mlflowSearch = (target, experimentId) => async (shape) =>
  (
    await target.mlflow('POST', '/runs/search', {
      experiment_ids: [experimentId],
      filter: shape.filter,
      order_by: [shape.orderBy],
      max_results: 100,
    })
  ).runs.length;

const nativeSearch = (target, experimentId) => async (shape) => {
  const q = new URLSearchParams({ experimentId, filter: shape.filter, orderBy: shape.orderBy, limit: '100' });
  return (await target.native('GET', `/runs?${q}`)).items.length;
};

/** A run with HISTORY_STEPS steps of `loss`, logged in batches of 1000; answers read latencies (ms) of the whole series. */
async function historyLatencies(target, experimentId, native = false) {
  const { run } = await target.mlflow('POST', '/runs/create', { experiment_id: experimentId, start_time: now(), run_name: 'history' });
  const runId = run.info.run_id;
  for (let from = 0; from < HISTORY_STEPS; from += BATCH_POINTS) {
    const metrics = Array.from({ length: BATCH_POINTS }, (_, j) => ({
      key: 'loss',
      value: 1 / (1 + from + j),
      timestamp: now(),
      step: from + j,
    }));
    await target.mlflow('POST', '/runs/log-batch', { run_id: runId, metrics });
  }
  const read = native
    ? async () => (await target.native('GET', `/runs/${runId}/metrics/loss?limit=${HISTORY_STEPS}`)).items.length
    : async () =>
        (await target.mlflow('GET', `/metrics/get-history?run_id=${runId}&metric_key=loss&max_results=${HISTORY_STEPS}`)).metrics.length;
  const got = await read();
  if (got !== HISTORY_STEPS) throw new Error(`${target.name}: history answered ${got} of ${HISTORY_STEPS} points`);
  // HISTORY_READS reads, or as many as fit in HISTORY_SECONDS (at least 3): MLflow's take seconds each.
  const times = [];
  const deadline = performance.now() + HISTORY_SECONDS * 1000;
  for (let i = 0; i < HISTORY_READS && (i < 3 || performance.now() < deadline); i++) {
    const t = performance.now();
    await read();
    times.push(performance.now() - t);
  }
  return times;
}

async function createExperiment(target, name) {
  return (await target.mlflow('POST', '/experiments/create', { name })).experiment_id;
}

async function main() {
  await ensureBuild();
  ensurePeerVenv(PEER);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'tandem-tracking-bench-'));
  await chmod(scratch, 0o755); // PostgreSQL runs as its own user and must reach its folder
  const stops = [];
  const results = {};
  let failed = true;
  // Interrupted (Ctrl-C, or `npm run bench` stopping), the servers started here stop too.
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.once(signal, async () => {
      for (const stop of stops) await stop().catch(() => undefined);
      await rm(scratch, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  try {
    const postgres = await startPostgres({ dir: path.join(scratch, 'pg'), logFile: path.join(scratch, 'pg.log') });
    stops.unshift(postgres.stop);
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('CREATE DATABASE tandem');
    await admin.query('CREATE DATABASE mlflow');
    await admin.end();
    const dbUrl = (name) => postgres.url.replace(/\/postgres$/, `/${name}`);

    // One server at a time, the other one stopped, so that neither competes with the other (or
    // with the other's idle threads) for the machine's cores; both use the same PostgreSQL.
    const sides = [
      { start: startTandem, database: 'tandem', seed: seedTandem },
      { start: startMlflow, database: 'mlflow', seed: seedMlflow },
    ];
    for (const side of sides) {
      const target = await side.start(scratch, dbUrl(side.database));
      stops.unshift(target.stop);
      const r = (results[target.name] = { load: [os.loadavg()[0]] });
      const experiment = await createExperiment(target, 'bench-throughput');
      console.log(`${target.name}: runs/s and points/s (${CLIENTS} clients, ${SECONDS} s each)`);
      // A fresh server: connections, JITs and caches warm up on a round of each workload first.
      await throughput(mlflowRun(target, experiment), WARMUP_S);
      if (target.native) await throughput(nativeRun(target, experiment), WARMUP_S);
      r.runs = await throughput(mlflowRun(target, experiment));
      r.points = await pointsThroughput(target, experiment);
      if (target.native) {
        r.nativeRuns = await throughput(nativeRun(target, experiment));
        r.nativePoints = await pointsThroughput(target, experiment, true);
      }
      console.log(`${target.name}: metric history of ${HISTORY_STEPS} steps`);
      r.history = await historyLatencies(target, experiment);
      if (target.native) r.nativeHistory = await historyLatencies(target, experiment, true);

      // Search: each side's own corpus, seeded the same way.
      const searchExperiment = await createExperiment(target, 'bench-search');
      const db = new pg.Client({ connectionString: dbUrl(side.database) });
      await db.connect();
      try {
        r.seedMs = await side.seed(db, searchExperiment);
      } finally {
        await db.end();
      }
      console.log(
        `${target.name}: seeded ${fmt(SEARCH_RUNS)} runs by direct SQL insert (runs, params, latest metrics) in ${fmt(r.seedMs / 1000, 1)} s; searching`,
      );
      r.search = await searchLatencies(mlflowSearch(target, searchExperiment), target.native ? {} : { seconds: PEER_SEARCH_SECONDS });
      if (target.native) r.nativeSearch = await searchLatencies(nativeSearch(target, searchExperiment));
      r.load.push(os.loadavg()[0]);
      await target.stop();
    }
    failed = false;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    // The servers' logs go with the scratch folder: show their ends when something went wrong.
    if (failed)
      for (const name of ['tandem.log', 'mlflow.log'])
        if (existsSync(path.join(scratch, name)))
          console.error(`--- ${name}\n${readFileSync(path.join(scratch, name), 'utf8').split('\n').slice(-40).join('\n')}`);
    await rm(scratch, { recursive: true, force: true });
  }
  report(results);
  process.exit(0);
}

function report(results) {
  const [t, m] = Object.values(results);
  const [tName, mName] = Object.keys(results);
  const p = (xs, q) => `${fmt(percentile(xs, q), 1)} ms`;
  console.log(`\nExperiment tracking, ${CLIENTS} concurrent HTTP clients, same PostgreSQL cluster, one MLflow worker`);
  // Other work on the machine inflates every figure; the load says how busy it was (cores: os.availableParallelism()).
  console.log(
    `  machine: ${os.availableParallelism()} cores; 1-minute load average ${fmt(t.load[0], 1)}–${fmt(t.load[1], 1)} while Tandem was measured, ` +
      `${fmt(m.load[0], 1)}–${fmt(m.load[1], 1)} while MLflow was`,
  );
  console.log(`  runs/s (create + 11 metrics + 2 params + end, 3 calls a run):`);
  console.log(`    ${mName.padEnd(32)} ${rate(m.runs)}`);
  console.log(`    ${`${tName} MLflow API`.padEnd(32)} ${rate(t.runs)}`);
  console.log(`    ${`${tName} native /tandem/api/runs`.padEnd(32)} ${rate(t.nativeRuns)}`);
  console.log(`  metric points/s (log-batch of ${BATCH_POINTS} points):`);
  console.log(`    ${mName.padEnd(32)} ${rate(m.points)}`);
  console.log(`    ${`${tName} MLflow API`.padEnd(32)} ${rate(t.points)}`);
  console.log(`    ${`${tName} native /tandem/api/runs`.padEnd(32)} ${rate(t.nativePoints)}`);
  console.log(`  search over ${fmt(SEARCH_RUNS)} runs (seeded by direct SQL insert into each server's tables, both sides), page of 100:`);
  console.log(`    filters like: ${SEARCH_SHAPES[0].filter}, order by ${SEARCH_SHAPES[0].orderBy}`);
  console.log(`    ${mName.padEnd(32)} p50 ${p(m.search, 50)}, p95 ${p(m.search, 95)} (${m.search.length} searches)`);
  console.log(`    ${`${tName} MLflow API`.padEnd(32)} p50 ${p(t.search, 50)}, p95 ${p(t.search, 95)} (${t.search.length} searches)`);
  console.log(
    `    ${`${tName} native /tandem/api/runs`.padEnd(32)} p50 ${p(t.nativeSearch, 50)}, p95 ${p(t.nativeSearch, 95)} (${t.nativeSearch.length} searches)`,
  );
  console.log(`  metric history of ${fmt(HISTORY_STEPS)} steps, whole series in one read:`);
  console.log(`    ${mName.padEnd(32)} p50 ${p(m.history, 50)}`);
  console.log(`    ${`${tName} MLflow API`.padEnd(32)} p50 ${p(t.history, 50)}`);
  console.log(`    ${`${tName} native /tandem/api/runs`.padEnd(32)} p50 ${p(t.nativeHistory, 50)}`);
  console.log(
    `  history p50 ${mName}/${tName} (information) = ${fmt(percentile(m.history, 50) / percentile(t.history, 50), 2)}×; ` +
      `search p95 ${mName}/${tName} (information) = ${fmt(percentile(m.search, 95) / percentile(t.search, 95), 1)}×`,
  );
  // Tandem's own API is named when it beats its MLflow-compatible one.
  const native = (nativeValue, value, peer, unit) =>
    nativeValue > value ? `native /tandem/api: ${rate(nativeValue)} ${unit}, ${fmt(nativeValue / peer, 2)}×` : undefined;
  verdict({
    bench: 'tracking',
    name: `runs/s vs ${mName} (MLflow REST calls)`,
    value: t.runs / m.runs,
    op: '>=',
    limit: 10,
    target: '≥ 10×',
    measured: `${fmt(t.runs / m.runs, 2)}× (${rate(t.runs)} vs ${rate(m.runs)} runs/s)`,
    note: native(t.nativeRuns, t.runs, m.runs, 'runs/s'),
  });
  verdict({
    bench: 'tracking',
    name: `metric points/s vs ${mName}, log-batch of ${BATCH_POINTS}`,
    value: t.points / m.points,
    op: '>=',
    limit: 10,
    target: '≥ 10×',
    measured: `${fmt(t.points / m.points, 2)}× (${rate(t.points)} vs ${rate(m.points)} points/s)`,
    note: native(t.nativePoints, t.points, m.points, 'points/s'),
  });
  const p95 = percentile(t.search, 95);
  verdict({
    bench: 'tracking',
    name: `search p95, ${fmt(SEARCH_RUNS)} runs, metric+param filter, metric order (MLflow API)`,
    value: p95,
    op: '<=',
    limit: 20,
    target: '≤ 20 ms',
    measured: `${fmt(p95, 1)} ms (native ${fmt(percentile(t.nativeSearch, 95), 1)} ms; ${mName} ${fmt(percentile(m.search, 95), 1)} ms)`,
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
