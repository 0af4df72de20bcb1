// Model registry benchmarks (run by `npm run bench`, or `node server/bench/registry.bench.mjs`):
//  1. artifact upload throughput through the API vs a raw `minio` client PUT of the same file
//     against the same MinIO (target: API ≥ 80% of raw);
//  2. search latency p95 over 10k models as a non-admin user (target: ≤ 50 ms).
// Real PostgreSQL and MinIO are started privately. BENCH_UPLOAD_MB (default 256) sets the file size.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import * as Minio from 'minio';
import { verdict } from '../../scripts/lib/verdict.mjs';
import { withBenchServer } from './support.mjs';

const UPLOAD_MB = Number(process.env.BENCH_UPLOAD_MB ?? 256);
const RUNS = 3;
const MODELS = 10_000;
const SEARCHES = 300;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const mbps = (bytes, ms) => bytes / 1024 / 1024 / (ms / 1000);

async function writeFile(file, mb) {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mb; i++) {
    for (let j = 0; j < chunk.length; j += 4) chunk.writeUInt32LE((i * 2654435761 + j * 40503) >>> 0, j);
    await handle.write(chunk);
  }
  await handle.close();
}

/** PUTs a file to the API as a raw stream (what the kernel client does) and resolves with the status. */
function putFile(url, token, file, size) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': size },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`upload answered ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

async function api(server, method, apiPath, body, token = server.adminToken) {
  const res = await fetch(`${server.url}/tandem/api/${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${apiPath}: ${JSON.stringify(json)}`);
  return json;
}

async function uploadBench(server, minio, file, size) {
  const url = new URL(minio.endpoint);
  // Same part size as the server's store, so both sides make the same multipart requests.
  const raw = new Minio.Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: minio.env.TANDEM_S3_ACCESS_KEY,
    secretKey: minio.env.TANDEM_S3_SECRET_KEY,
    partSize: 16 * 1024 * 1024,
  });
  await raw.makeBucket('bench-raw', 'us-east-1').catch(() => undefined);
  const rawMs = [];
  const apiMs = [];
  for (let run = 0; run < RUNS; run++) {
    let t = performance.now();
    await raw.putObject('bench-raw', `file-${run}`, createReadStream(file), size);
    rawMs.push(performance.now() - t);

    t = performance.now();
    const { uploadId } = await api(server, 'POST', 'models/bench-upload/uploads', { createModel: true });
    await putFile(`${server.url}/tandem/api/models/bench-upload/uploads/${uploadId}/files/model.bin`, server.adminToken, file, size);
    await api(server, 'POST', `models/bench-upload/uploads/${uploadId}/commit`);
    apiMs.push(performance.now() - t);
  }
  const rawRate = mbps(size, median(rawMs));
  const apiRate = mbps(size, median(apiMs));
  console.log(`upload ${UPLOAD_MB} MiB, median of ${RUNS}:`);
  console.log(`  raw minio client PUT   ${rawRate.toFixed(1)} MiB/s`);
  console.log(`  Tandem API (PUT+commit) ${apiRate.toFixed(1)} MiB/s`);
  verdict({
    bench: 'registry',
    name: `upload throughput, ${UPLOAD_MB} MiB vs raw minio PUT`,
    value: apiRate / rawRate,
    op: '>=',
    limit: 0.8,
    target: '≥ 80% of raw',
    measured: `${((100 * apiRate) / rawRate).toFixed(0)}% (${apiRate.toFixed(0)} vs ${rawRate.toFixed(0)} MiB/s)`,
  });
}

async function searchBench(server) {
  const { ctx } = server;
  const reader = await api(server, 'POST', 'users', { name: 'bench-reader' });
  const other = await api(server, 'POST', 'users', { name: 'bench-other' });
  // 10k models, half visible to the reader, with tags, metrics and an alias on every tenth.
  await ctx.db.query(
    `INSERT INTO models (id, name, description, tags, created_by, latest_version, latest_metrics, updated_at)
     SELECT 'bench-' || i, 'model-' || lpad(i::text, 5, '0'), 'model card ' || i,
            jsonb_build_object('team', CASE WHEN i % 3 = 0 THEN 'risk' ELSE 'vision' END),
            $1, 1, jsonb_build_object('accuracy', (i % 1000) / 1000.0, 'loss', (i % 97) / 97.0),
            now() - (i || ' seconds')::interval
     FROM generate_series(1, ${MODELS}) AS i`,
    [reader.user.id],
  );
  await ctx.db.query(
    `INSERT INTO grants (resource_type, resource_id, principal_type, principal_id, role)
     SELECT 'model', 'bench-' || i, 'user', CASE WHEN i % 2 = 0 THEN $1 ELSE $2 END, 'owner' FROM generate_series(1, ${MODELS}) AS i`,
    [reader.user.id, other.user.id],
  );
  await ctx.db.query(
    `INSERT INTO model_versions (id, model_id, number, status, created_by, ready_at)
     SELECT 'bench-v-' || i, 'bench-' || i, 1, 'ready', $1, now() FROM generate_series(1, ${MODELS}, 10) AS i`,
    [reader.user.id],
  );
  await ctx.db.query(
    `INSERT INTO model_aliases (model_id, alias, version_id) SELECT 'bench-' || i, 'production', 'bench-v-' || i FROM generate_series(1, ${MODELS}, 10) AS i`,
  );
  await ctx.db.query('ANALYZE');
  const queries = [
    '',
    'prefix=model-01',
    'q=card%2042',
    'tag=team:risk',
    'alias=production',
    'filter=metric.accuracy%3E0.9',
    'filter=metric.accuracy%3E0.5&orderBy=metric.accuracy',
    'orderBy=updated&limit=50',
    'tag=team:vision&filter=metric.loss%3C0.2&orderBy=metric.loss&desc=false',
    'pageToken=' + Buffer.from(JSON.stringify({ offset: 2000 })).toString('base64url'),
  ];
  for (const q of queries) await api(server, 'GET', `models?${q}`, undefined, reader.token); // warm-up
  const times = [];
  const byShape = new Map(queries.map((q) => [q, []]));
  for (let i = 0; i < SEARCHES; i++) {
    const q = queries[i % queries.length];
    const t = performance.now();
    await api(server, 'GET', `models?${q}`, undefined, reader.token);
    times.push(performance.now() - t);
    byShape.get(q).push(times.at(-1));
  }
  const [slowest, slowTimes] = [...byShape].sort((a, b) => median(b[1]) - median(a[1]))[0];
  console.log(`  slowest query shape: "${slowest || '(none)'}" median ${median(slowTimes).toFixed(1)} ms`);
  const p95 = percentile(times, 95);
  console.log(`search over ${MODELS} models as a non-admin (${SEARCHES} requests, ${queries.length} query shapes, HTTP round trip):`);
  console.log(`  p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);
  verdict({
    bench: 'registry',
    name: `search p95, ${MODELS} models`,
    value: p95,
    op: '<=',
    limit: 50,
    target: '≤ 50 ms',
    measured: `${p95.toFixed(1)} ms`,
  });
}

await withBenchServer({ name: 'registry', minio: true }, async ({ server, scratch, minio }) => {
  const file = path.join(scratch, 'upload.bin');
  await writeFile(file, UPLOAD_MB);
  await uploadBench(server, minio, file, UPLOAD_MB * 1024 * 1024);
  await searchBench(server);
});
