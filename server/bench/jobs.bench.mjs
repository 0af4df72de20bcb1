// Jobs benchmarks (run by `npm run bench`, or `node server/bench/jobs.bench.mjs`):
//  1. submit → running latency of worker jobs: an idle worker long-polls its claim, so a job
//     should start within 300 ms of being submitted (server timestamps, real PostgreSQL);
//  2. a Spark job's wall time through Tandem (submit → succeeded, worker + spark-submit) vs the
//     same script run by raw `spark-submit` in the same run (target: ≤ 1.1×). Tandem's drivers
//     start from a class archive (spark-class-archive.ts), so the verdict compares with raw
//     spark-submit given the same archive: what the worker and progress reporting cost. Raw
//     spark-submit without the archive (what a user without Tandem runs) is shown for information.
//     The three alternate, in a rotating order, after one warm-up run of each.
// BENCH_JOBS (default 30) and BENCH_SPARK_RUNS (default 5) set the sample sizes.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CACHE_DIR } from '../../scripts/lib/paths.mjs';
import { verdict } from '../../scripts/lib/verdict.mjs';
import { serverModule, withBenchServer } from './support.mjs';

const JOBS = Number(process.env.BENCH_JOBS ?? 30);
const SPARK_RUNS = Number(process.env.BENCH_SPARK_RUNS ?? 5);
const SPARK_SCRIPT = `
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print(spark.range(5_000_000).selectExpr("sum(id % 7) AS s").first()["s"])
spark.stop()
`;

const { startWorker } = await serverModule('worker/agent.js');
const { venvPython, sparkSubmit } = await serverModule('worker/python.js');
const { classArchiveJavaOptions, DRIVER_JAVA_OPTIONS, prepareSparkClassArchive } = await serverModule('worker/spark-class-archive.js');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

async function api(server, method, apiPath, body) {
  const res = await fetch(`${server.url}/tandem/api/${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${apiPath}: ${JSON.stringify(json)}`);
  return json;
}

/** Follows the job's event stream (long poll) until it finishes. */
async function waitFinished(server, id) {
  let after = 0;
  for (;;) {
    const { events, job } = await api(server, 'GET', `jobs/${id}/events?after=${after}&waitMs=10000`);
    after = events.at(-1)?.id ?? after;
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
  }
}

async function latencyBench(server) {
  const latencies = [];
  for (let i = 0; i < JOBS; i++) {
    const { id } = await api(server, 'POST', 'jobs', { kind: 'gpu', spec: { script: 'pass', gpus: 0 } });
    const job = await waitFinished(server, id);
    if (job.status !== 'succeeded') throw new Error(`latency job failed: ${job.error}`);
    latencies.push(new Date(job.startedAt) - new Date(job.createdAt));
  }
  const p95 = percentile(latencies, 95);
  console.log(`submit → running over ${JOBS} jobs (idle worker, PostgreSQL):`);
  console.log(`  p50 ${median(latencies)} ms, p95 ${p95} ms, max ${Math.max(...latencies)} ms`);
  verdict({
    bench: 'jobs',
    name: `submit → running p95, ${JOBS} jobs`,
    value: p95,
    op: '<=',
    limit: 300,
    target: '≤ 300 ms',
    measured: `${p95} ms`,
  });
}

function rawSparkSubmit(script, archive) {
  const python = venvPython();
  const conf = archive ? ['--conf', `${DRIVER_JAVA_OPTIONS}=${classArchiveJavaOptions(archive)}`] : [];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(sparkSubmit(python), ['--master', 'local[*]', ...conf, script], {
      env: { ...process.env, PYSPARK_PYTHON: python, PYSPARK_DRIVER_PYTHON: python, SPARK_LOCAL_IP: '127.0.0.1' },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`raw spark-submit exited with ${code}`)),
    );
  });
}

async function tandemSparkJob(server, script) {
  const started = performance.now();
  const { id } = await api(server, 'POST', 'jobs', { kind: 'spark', spec: { file: script } });
  const job = await waitFinished(server, id);
  if (job.status !== 'succeeded') throw new Error(`Spark bench job failed: ${job.error}`);
  return performance.now() - started;
}

async function sparkBench(server, scratch, archive) {
  const script = path.join(scratch, 'bench.py');
  await writeFile(script, SPARK_SCRIPT);
  // Without an archive (it could not be built) Tandem's drivers start without one too: the
  // comparison is then with raw spark-submit without it, like for like.
  const sides = [
    { name: 'raw spark-submit', run: () => rawSparkSubmit(script), times: [] },
    ...(archive ? [{ name: 'raw spark-submit + class archive', run: () => rawSparkSubmit(script, archive), times: [] }] : []),
    { name: 'Tandem job (submit → succeeded)', run: () => tandemSparkJob(server, script), times: [] },
  ];
  for (const side of sides) await side.run(); // warm-up: page cache, JIT, first job of the worker
  // Alternate in a rotating order, so that neither a machine getting busier nor going first or
  // last favours one side.
  for (let i = 0; i < SPARK_RUNS; i++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(i + k) % sides.length];
      side.times.push(await side.run());
    }
  }
  const [raw, peer, tandem] = archive ? sides : [sides[0], sides[0], sides[1]];
  const seconds = (xs) => `${(median(xs) / 1000).toFixed(1)} s`;
  console.log(`Spark job wall time, median of ${SPARK_RUNS} alternating runs after a warm-up (local[*]):`);
  for (const side of sides) console.log(`  ${side.name.padEnd(34)} ${seconds(side.times)}`);
  if (!archive) console.log('  (no class archive: it could not be built, so no side uses one)');
  console.log(`  Tandem/raw without archive (information) = ${(median(tandem.times) / median(raw.times)).toFixed(2)}`);
  const ratio = median(tandem.times) / median(peer.times);
  verdict({
    bench: 'jobs',
    name: `Spark job wall time vs ${archive ? 'raw spark-submit + same class archive' : 'raw spark-submit (no archive)'}`,
    value: ratio,
    op: '<=',
    limit: 1.1,
    target: '≤ 1.1×',
    measured: `${ratio.toFixed(2)}× (${seconds(tandem.times)} vs ${seconds(peer.times)}, median of ${SPARK_RUNS})`,
  });
}

await withBenchServer({ name: 'jobs' }, async ({ server, scratch, onStop }) => {
  // Ready before timing starts, as on any worker after its first start.
  const archive = await prepareSparkClassArchive({ python: venvPython(), cacheDir: CACHE_DIR, log: console.log });
  const { token } = await api(server, 'POST', 'tokens', { name: 'bench worker', kind: 'worker' });
  const worker = await startWorker({
    serverUrl: server.url,
    token,
    spark: true,
    gpu: true,
    allowCpu: true,
    sparkMaster: 'local[*]',
    cacheDir: CACHE_DIR,
    // The Spark script is a file both sides read: on shared storage, as with `tandem worker --share`.
    shareDirs: [scratch],
    log: () => undefined,
  });
  onStop(() => worker.stop());
  await latencyBench(server);
  await sparkBench(server, scratch, archive);
});
