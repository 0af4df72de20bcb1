// Dashboards benchmark (run by `npm run bench`, or `node server/bench/dashboards.bench.mjs`):
//  1. page load latency p50/p95 of a dashboard with 20 outputs (5 tables with 1,000-row previews,
//     5 Plot-sized SVGs, 5 markdown, 5 HTML), viewed through its share link (target p95 ≤ 200 ms);
//  2. requests/s with BENCH_CONCURRENCY (32) keep-alive clients for BENCH_SECONDS (5) (target ≥ 500/s).
// The peer, measured in the same run: the same response served from memory by plain node:http,
// the floor for serving that page: Tandem's own bytes, headers and gzip (Tandem serves the page
// it cached compressed; the floor answers gzip when asked, as Tandem does). Clients run in a second
// process; the server uses real PostgreSQL. BENCH_REQUESTS (300) sets the latency sample.
import { spawn } from 'node:child_process';
import { createServer, get } from 'node:http';
import { verdict } from '../../scripts/lib/verdict.mjs';
import { withBenchServer } from './support.mjs';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

function twentyOutputs() {
  const display = (data) => ({ output_type: 'display_data', metadata: {}, data });
  const table = (seed) => ({
    'application/vnd.tandem.table+json': {
      version: 1,
      rowCount: 250_000,
      truncated: true,
      columns: [
        { name: 'region', type: 'Utf8' },
        { name: 'day', type: 'Date' },
        { name: 'revenue', type: 'Float64' },
        { name: 'orders', type: 'Int32' },
      ],
      rows: Array.from({ length: 1000 }, (_, i) => [
        `region-${(i * seed) % 37}`,
        `2026-0${1 + (i % 9)}-1${i % 10}`,
        Math.round(i * seed * 13.7) / 10,
        i % 500,
      ]),
    },
  });
  const points = (seed) =>
    Array.from({ length: 300 }, (_, i) => `<circle cx="${(i * 7) % 640}" cy="${(i * seed) % 400}" r="3" fill="steelblue"/>`).join('');
  const svg = (seed) => ({
    'image/svg+xml': `<svg xmlns="http://www.w3.org/2000/svg" class="plot-1" viewBox="0 0 640 400" width="640" height="400"><style>.plot-1{font:10px sans-serif}</style><g aria-label="dot">${points(seed)}</g></svg>`,
  });
  const cells = [];
  for (let i = 1; i <= 5; i++) {
    cells.push({
      cell_type: 'markdown',
      source: `## Section ${i}\n\nRevenue is **up ${i}%** week over week; see the [report](https://example.com/${i}).`,
    });
    cells.push({
      cell_type: 'code',
      source: 'x',
      outputs: [
        display(table(i)),
        display(svg(i)),
        display({ 'text/markdown': `> note ${i}: *preliminary*` }),
        display({ 'text/html': `<table class="df"><tr><th>k</th><th>v</th></tr>${'<tr><td>a</td><td>1</td></tr>'.repeat(20)}</table>` }),
      ],
    });
  }
  return { cells };
}

/** The client side, in its own process: sequential latencies, then a closed-loop load test. */
const CLIENT = `
const [url, requests, concurrency, seconds] = [process.argv[1], ...process.argv.slice(2).map(Number)];
const get = async () => { const r = await fetch(url); await r.arrayBuffer(); if (r.status !== 200) throw new Error('status ' + r.status); };
const lat = [];
for (let i = 0; i < 20; i++) await get();
for (let i = 0; i < requests; i++) { const t = performance.now(); await get(); lat.push(performance.now() - t); }
let done = 0; const end = Date.now() + seconds * 1000;
await Promise.all(Array.from({ length: concurrency }, async () => { while (Date.now() < end) { await get(); done++; } }));
process.stdout.write(JSON.stringify({ lat, rps: done / seconds }));
`;

function measure(url) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', CLIENT, url, String(REQUESTS), String(CONCURRENCY), String(SECONDS)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load client exited with ${code}`))));
  });
}

/** The page as it goes over the wire: status, headers and body bytes, without decompressing. */
function rawGet(url, headers) {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The floor: replays Tandem's answer, gzip-encoded to clients that accept gzip, plain otherwise. */
async function floorServer(pageUrl) {
  const hopByHop = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);
  const answer = async (acceptEncoding) => {
    const res = await rawGet(pageUrl, acceptEncoding ? { 'accept-encoding': acceptEncoding } : {});
    if (res.status !== 200) throw new Error(`page answered ${res.status}`);
    return { headers: Object.fromEntries(Object.entries(res.headers).filter(([k]) => !hopByHop.has(k))), body: res.body };
  };
  const gzipped = await answer('gzip, deflate, br');
  const plain = await answer(undefined);
  if (gzipped.headers['content-encoding'] !== 'gzip') throw new Error('Tandem no longer gzips dashboard pages: update the floor');
  return {
    gzipped,
    plain,
    server: createServer((req, res) => {
      const { headers, body } = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) ? gzipped : plain;
      res.writeHead(200, headers).end(body);
    }),
  };
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

await withBenchServer({ name: 'dashboards' }, async ({ server, onStop }) => {
  const call = async (method, apiPath, body) => {
    const res = await fetch(`${server.url}/tandem/api/${apiPath}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${apiPath}: ${await res.text()}`);
    return res.json();
  };
  await call('POST', 'dashboards', { slug: 'bench', title: 'Bench', notebook: twentyOutputs() });
  const { key } = await call('POST', 'dashboards/bench/link');
  const pageUrl = `${server.url}/tandem/d/bench?key=${key}`;
  const cold = performance.now();
  const html = await (await fetch(pageUrl)).text();
  const coldMs = performance.now() - cold;

  const floor = await floorServer(pageUrl);
  const staticServer = floor.server;
  await new Promise((r) => staticServer.listen(0, '127.0.0.1', r));
  onStop(() => new Promise((r) => staticServer.close(r)));

  const tandem = await measure(pageUrl);
  const floorRun = await measure(`http://127.0.0.1:${staticServer.address().port}/`);
  const p95 = pct(tandem.lat, 95);
  const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
  console.log(
    `dashboard page with 20 outputs (${kib(html.length)} HTML, ${kib(floor.gzipped.body.length)} gzipped, share link, PostgreSQL):`,
  );
  console.log(`  first view (renders + sanitizes): ${coldMs.toFixed(1)} ms`);
  console.log(
    `  Tandem        p50 ${pct(tandem.lat, 50).toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, ${tandem.rps.toFixed(0)} req/s (${CONCURRENCY} clients)`,
  );
  console.log(
    `  floor (node:http, same gzip bytes) p50 ${pct(floorRun.lat, 50).toFixed(2)} ms, p95 ${pct(floorRun.lat, 95).toFixed(2)} ms, ${floorRun.rps.toFixed(0)} req/s`,
  );
  console.log(
    `  Tandem/floor (information): p95 ${(p95 / pct(floorRun.lat, 95)).toFixed(2)}×, req/s ${(tandem.rps / floorRun.rps).toFixed(2)}×`,
  );
  verdict({
    bench: 'dashboards',
    name: 'page with 20 outputs, p95',
    value: p95,
    op: '<=',
    limit: 200,
    target: '≤ 200 ms',
    measured: `${p95.toFixed(1)} ms`,
  });
  verdict({
    bench: 'dashboards',
    name: `page with 20 outputs, throughput (${CONCURRENCY} clients)`,
    value: tandem.rps,
    op: '>=',
    limit: 500,
    target: '≥ 500 req/s',
    measured: `${tandem.rps.toFixed(0)} req/s (floor ${floorRun.rps.toFixed(0)})`,
  });
});
