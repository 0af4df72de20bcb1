// Pipelines benchmarks (run by `npm run bench`, or `node server/bench/pipelines.bench.mjs`), on real
// PostgreSQL, against Prefect (pinned in pipelines-peer-requirements.txt) in the same run:
//  1. scheduled time → first step running, p50/p95: BENCH_SCHEDULED pipelines (15) on a
//     `* * * * *` schedule fire together at each of BENCH_MINUTES (2) minute boundaries; the
//     latency is the first step's start (server timestamp) minus the scheduled time (target:
//     p95 ≤ 1 s);
//  2. a 20-step chain's orchestration overhead: each step needs the one before and does no work of
//     its own (Tandem: a gate over the run's parameters, evaluated by the server; Prefect: a
//     `@task` returning x + 1 in a `@flow` against a standalone `prefect server` with its default
//     SQLite database). The whole run's wall time seen by its caller is overhead. Median of
//     BENCH_CHAIN_RUNS (20) after a warm-up, the sides alternating (target: Tandem ≤ 1/5 of Prefect);
//  3. for information, the same chain of 20 worker jobs (`gpu` kind, `pass`, CPU allowed): the run's
//     wall time minus the jobs' own running time, i.e. what claiming, sandboxing and reporting
//     each job add. Prefect tasks run in the flow's process, so there is no like-for-like peer.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR } from '../../scripts/lib/paths.mjs';
import { ensurePeerVenv } from '../../scripts/lib/peer-venv.mjs';
import { freePort, httpOk, startProcess, stopProcess, waitFor } from '../../scripts/lib/proc.mjs';
import { percentile } from '../../scripts/lib/stats.mjs';
import { verdict } from '../../scripts/lib/verdict.mjs';
import { serverModule, withBenchServer } from './support.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCHEDULED = Number(process.env.BENCH_SCHEDULED ?? 15);
const MINUTES = Number(process.env.BENCH_MINUTES ?? 2);
const CHAIN_STEPS = 20;
const CHAIN_RUNS = Number(process.env.BENCH_CHAIN_RUNS ?? 20);
const JOB_CHAIN_RUNS = Number(process.env.BENCH_JOB_CHAIN_RUNS ?? 3);
const PEER = { name: 'prefect-bench-venv', requirements: path.join(HERE, 'pipelines-peer-requirements.txt'), imports: ['prefect'] };

const PREFECT_CHAIN_PY = `
import json, sys, time
from prefect import flow, task

@task
def step(x: int) -> int:
    return x + 1

@flow
def chain(n: int) -> int:
    x = 0
    for _ in range(n):
        x = step(x)
    return x

steps = int(sys.argv[1])
assert chain(steps) == steps  # warm-up: imports, the API client, the server's first writes
for line in sys.stdin:
    started = time.perf_counter()
    assert chain(steps) == steps
    print(json.dumps({"ms": (time.perf_counter() - started) * 1000}), flush=True)
`;

const { startWorker } = await serverModule('worker/agent.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => percentile(xs, 50);
const ms = (n) => `${n.toFixed(n < 10 ? 1 : 0)} ms`;

async function api(server, method, apiPath, body) {
  const res = await fetch(`${server.url}/tandem/api/${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = res.status === 204 ? undefined : await res.json();
  if (!res.ok) throw new Error(`${method} ${apiPath}: ${JSON.stringify(json)}`);
  return json;
}

const FINAL = ['succeeded', 'failed', 'cancelled'];

/** Starts a run and returns it finished, with the wall time its caller saw. */
async function timedRun(server, pipelineId) {
  const started = performance.now();
  let run = await api(server, 'POST', `pipelines/${pipelineId}/runs`, { params: {} });
  while (!FINAL.includes(run.status)) {
    await sleep(2);
    run = await api(server, 'GET', `pipeline-runs/${run.id}`);
  }
  const wall = performance.now() - started;
  if (run.status !== 'succeeded') throw new Error(`bench run ${run.id} ${run.status}: ${run.error}`);
  return { run, wall };
}

const chainOf = (name, step) => ({
  name,
  parameters: { n: { default: CHAIN_STEPS } },
  steps: Array.from({ length: CHAIN_STEPS }, (_, i) => ({ id: `s${i + 1}`, needs: i ? [`s${i}`] : [], ...step })),
});

async function scheduledLatency(server) {
  const ids = [];
  for (let i = 0; i < SCHEDULED; i++) {
    const pipeline = await api(server, 'POST', 'pipelines', {
      name: `every minute ${i}`,
      schedule: { cron: '* * * * *' },
      steps: [{ id: 'first', kind: 'gate', expression: 'true' }],
    });
    ids.push(pipeline.id);
  }
  const untilNextMinute = 60_000 - (Date.now() % 60_000);
  console.log(
    `scheduled → running: ${SCHEDULED} pipelines every minute, waiting ${MINUTES} boundaries (~${Math.ceil((untilNextMinute + (MINUTES - 1) * 60_000) / 1000)} s)`,
  );
  await sleep(untilNextMinute + (MINUTES - 1) * 60_000 + 3000);
  const latencies = [];
  for (const id of ids) {
    const { items } = await api(server, 'GET', `pipelines/${id}/runs?limit=100`);
    for (const summary of items.filter((r) => r.trigger === 'schedule')) {
      const run = await api(server, 'GET', `pipeline-runs/${summary.id}`);
      const first = run.steps.find((s) => s.id === 'first');
      if (!first?.startedAt) throw new Error(`run ${run.id} of a scheduled pipeline has not started its step (${run.status})`);
      latencies.push(new Date(first.startedAt) - new Date(run.scheduledFor));
    }
    await api(server, 'DELETE', `pipelines/${id}`);
  }
  if (latencies.length < SCHEDULED * MINUTES) throw new Error(`expected ${SCHEDULED * MINUTES} scheduled runs, saw ${latencies.length}`);
  const p95 = percentile(latencies, 95);
  console.log(`  ${latencies.length} runs: p50 ${ms(median(latencies))}, p95 ${ms(p95)}, max ${ms(Math.max(...latencies))}`);
  verdict({
    bench: 'pipelines',
    name: `scheduled → first step running p95, ${latencies.length} runs (${SCHEDULED} at a time)`,
    value: p95,
    op: '<=',
    limit: 1000,
    target: '≤ 1 s',
    measured: ms(p95),
  });
}

async function startPrefect(python, scratch, onStop) {
  const port = await freePort();
  const env = {
    ...process.env,
    PREFECT_HOME: path.join(scratch, 'prefect'),
    PREFECT_API_URL: `http://127.0.0.1:${port}/api`,
    PREFECT_SERVER_ANALYTICS_ENABLED: 'false',
    PREFECT_SERVER_UI_ENABLED: 'false',
    PREFECT_LOGGING_LEVEL: 'WARNING',
  };
  const server = startProcess(python, ['-m', 'prefect', 'server', 'start', '--host', '127.0.0.1', '--port', String(port)], {
    name: 'prefect',
    env,
    logStream: createWriteStream(path.join(scratch, 'prefect-server.log')),
  });
  onStop(() => stopProcess(server));
  await waitFor('Prefect server', () => httpOk(`${env.PREFECT_API_URL}/health`), { timeoutMs: 120_000, child: server });
  const script = path.join(scratch, 'prefect_chain.py');
  await writeFile(script, PREFECT_CHAIN_PY);
  const flow = spawn(python, [script, String(CHAIN_STEPS)], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  onStop(async () => flow.kill());
  const answers = [];
  let buffered = '';
  flow.stdout.on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) answers.shift()?.(JSON.parse(line).ms);
  });
  const exited = new Promise((_, reject) => flow.once('exit', (code) => reject(new Error(`the Prefect flow process exited with ${code}`))));
  exited.catch(() => undefined); // it is only awaited while a run is asked for; killing the flow at the end is not an error
  return {
    run: () =>
      Promise.race([
        new Promise((resolve) => {
          answers.push(resolve);
          flow.stdin.write('run\n');
        }),
        exited,
      ]),
  };
}

async function chainOverhead(server, prefect) {
  const pipeline = await api(server, 'POST', 'pipelines', chainOf('chain of gates', { kind: 'gate', expression: 'params.n >= 0' }));
  const sides = [
    { name: `Tandem (${CHAIN_STEPS} gate steps)`, run: async () => (await timedRun(server, pipeline.id)).wall, times: [] },
    { name: `Prefect ${PEER.pins.prefect} (${CHAIN_STEPS} tasks)`, run: () => prefect.run(), times: [] },
  ];
  for (const side of sides) await side.run();
  for (let i = 0; i < CHAIN_RUNS; i++) for (const side of i % 2 ? [...sides].reverse() : sides) side.times.push(await side.run());
  const [tandem, peer] = sides.map((s) => median(s.times));
  console.log(`${CHAIN_STEPS}-step chain, wall time of a run with no work in its steps (median of ${CHAIN_RUNS}, alternating):`);
  for (const side of sides) console.log(`  ${side.name.padEnd(34)} p50 ${ms(median(side.times))}, p95 ${ms(percentile(side.times, 95))}`);
  const ratio = tandem / peer;
  verdict({
    bench: 'pipelines',
    name: `${CHAIN_STEPS}-step chain overhead vs Prefect ${PEER.pins.prefect}`,
    value: ratio,
    op: '<=',
    limit: 0.2,
    target: '≤ 1/5 of Prefect',
    measured: `${ratio.toFixed(3)}× (${ms(tandem)} vs ${ms(peer)}, median of ${CHAIN_RUNS})`,
  });
}

async function jobChainOverhead(server) {
  const pipeline = await api(server, 'POST', 'pipelines', chainOf('chain of jobs', { kind: 'gpu', spec: { script: 'pass', gpus: 0 } }));
  const overheads = [];
  for (let i = 0; i <= JOB_CHAIN_RUNS; i++) {
    const { run, wall } = await timedRun(server, pipeline.id);
    let working = 0;
    for (const step of run.steps) {
      const job = await api(server, 'GET', `jobs/${step.jobId}`);
      working += new Date(job.finishedAt) - new Date(job.startedAt);
    }
    if (i > 0) overheads.push((wall - working) / CHAIN_STEPS); // the first one warms the worker up
  }
  console.log(
    `${CHAIN_STEPS}-step chain of worker jobs (information): ${ms(median(overheads))} a step beyond the jobs' own running time (median of ${JOB_CHAIN_RUNS})`,
  );
}

await withBenchServer({ name: 'pipelines' }, async ({ server, scratch, onStop }) => {
  const { python, pins } = ensurePeerVenv(PEER);
  PEER.pins = pins;
  const prefect = await startPrefect(python, scratch, onStop);
  const { token } = await api(server, 'POST', 'tokens', { name: 'bench worker', kind: 'worker' });
  const worker = await startWorker({ serverUrl: server.url, token, gpu: true, allowCpu: true, cacheDir: CACHE_DIR, log: () => undefined });
  onStop(() => worker.stop());
  await chainOverhead(server, prefect);
  await jobChainOverhead(server);
  await scheduledLatency(server);
});
