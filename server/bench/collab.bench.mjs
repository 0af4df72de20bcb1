// Collaboration benchmark (run by `npm run bench`, or `node server/bench/collab.bench.mjs`):
// 50 stock y-websocket clients edit one notebook, against the Tandem server (real PostgreSQL) and
// against jupyter-collaboration (jupyter-server-ydoc) on the same machine in the same run.
//  1. edit propagation latency p50/p99 at a steady 100 edits/s (target: Tandem p99 ≤ 50 ms);
//  2. throughput: every editor sends a burst as fast as it can; delivered edits/s until every
//     client has every edit (target: ≥ 3× jupyter-collaboration).
// Each edit types one character into the notebook's first cell and records its send time under a
// unique key; a receiver's latency is the time until that key reaches it. The server runs in its
// own process; all clients share this one, for both servers alike.
// An edit that does not reach every other editor fails both verdicts: figures over lost edits mean
// nothing. The peer's version is pinned in collab-peer-requirements.txt.
// BENCH_EDITORS (50), BENCH_RATE (edits/s in total, 100), BENCH_SECONDS (8), BENCH_BURST (20 per editor).
import { createWriteStream, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { freePort, startProcess, stopProcess, waitFor } from '../../scripts/lib/proc.mjs';
import { startPostgres } from '../../scripts/lib/services.mjs';
import { ensureBuild } from '../../scripts/lib/setup-steps.mjs';
import { ensurePeerVenv, readPins } from '../../scripts/lib/peer-venv.mjs';
import { verdict } from '../../scripts/lib/verdict.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EDITORS = Number(process.env.BENCH_EDITORS ?? 50);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const BURST = Number(process.env.BENCH_BURST ?? 20);
/** Edits in the first second warm up JITs and connections on both sides; they are not counted. */
const WARMUP_S = 1;
// jupyter-collaboration lives in its own venv layered on the project's, so that installing it
// does not switch every JupyterLab of the test suite to its collaborative drive.
const PEER = {
  name: 'collab-bench-venv',
  requirements: path.join(ROOT, 'server/bench/collab-peer-requirements.txt'),
  imports: ['jupyter_server_ydoc'],
  layered: true,
};
const PEER_PINS = readPins(PEER.requirements);

/**
 * Waits until `arrivals()` reaches `expected`, or until none came for `stallMs` (edits lost), at
 * most `timeoutMs`; resolves with how many are missing.
 */
async function awaitArrivals(arrivals, expected, { stallMs = 30_000, timeoutMs }) {
  const deadline = performance.now() + timeoutMs;
  let last = arrivals();
  let lastChange = performance.now();
  while (arrivals() < expected && performance.now() < deadline && performance.now() - lastChange < stallMs) {
    await sleep(10);
    if (arrivals() !== last) [last, lastChange] = [arrivals(), performance.now()];
  }
  return Math.max(0, expected - arrivals());
}

const percentile = (xs, p) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startTandem(scratch) {
  const pg = await startPostgres({ dir: path.join(scratch, 'pg'), logFile: path.join(scratch, 'pg.log') });
  const port = await freePort();
  const child = startProcess('node', [path.join(ROOT, 'server/dist/src/cli.js'), 'serve'], {
    env: { TANDEM_HOME: path.join(scratch, 'tandem'), TANDEM_PORT: String(port), TANDEM_DATABASE_URL: pg.url, TANDEM_LOG_LEVEL: 'warn' },
    name: 'tandem',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('Tandem server', async () => (await fetch(`${url}/healthz`)).ok, { child });
  const { readFileSync } = await import('node:fs');
  const token = readFileSync(path.join(scratch, 'tandem/token'), 'utf8').trim();
  const res = await fetch(`${url}/tandem/api/notebooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench.ipynb' }),
  });
  const { id } = await res.json();
  return {
    name: 'Tandem',
    connect: (doc) =>
      new WebsocketProvider(`ws://127.0.0.1:${port}/tandem/collab`, id, doc, {
        params: { token },
        WebSocketPolyfill: WebSocket,
        disableBc: true,
      }),
    stop: async () => {
      await stopProcess(child);
      await pg.stop();
    },
  };
}

async function startJupyterCollaboration(scratch) {
  const python = ensurePeerVenv(PEER).python;
  const root = path.join(scratch, 'jc');
  const { mkdirSync } = await import('node:fs');
  for (const dir of [root, path.join(scratch, 'jc-config'), path.join(scratch, 'jc-data'), path.join(scratch, 'jc-runtime')])
    mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(root, 'bench.ipynb'),
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [{ id: 'c0', cell_type: 'code', source: '', metadata: {}, outputs: [], execution_count: null }],
    }),
  );
  const port = await freePort();
  const token = 'bench';
  const child = startProcess(
    python,
    [
      '-m',
      'jupyter_server',
      `--port=${port}`,
      '--ip=127.0.0.1',
      `--ServerApp.token=${token}`,
      `--ServerApp.root_dir=${root}`,
      '--no-browser',
      '--allow-root',
      '--ServerApp.log_level=WARN',
    ],
    {
      env: {
        JUPYTER_CONFIG_DIR: path.join(scratch, 'jc-config'),
        JUPYTER_DATA_DIR: path.join(scratch, 'jc-data'),
        JUPYTER_RUNTIME_DIR: path.join(scratch, 'jc-runtime'),
      },
      name: 'jupyter-collaboration',
      logStream: createWriteStream(path.join(scratch, 'jupyter-collaboration.log')),
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('Jupyter server', async () => (await fetch(`${url}/api/status?token=${token}`)).ok, { child });
  const session = await waitFor('jupyter-collaboration session', async () => {
    const res = await fetch(`${url}/api/collaboration/session/bench.ipynb?token=${token}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'json', type: 'notebook' }),
    });
    return res.ok ? res.json() : undefined;
  });
  return {
    name: 'jupyter-collaboration',
    connect: (doc) =>
      new WebsocketProvider(`ws://127.0.0.1:${port}/api/collaboration/room`, `json:notebook:${session.fileId}`, doc, {
        params: { sessionId: session.sessionId, token },
        WebSocketPolyfill: WebSocket,
        disableBc: true,
      }),
    stop: () => stopProcess(child),
  };
}

/** Connects the editors and waits until each sees the notebook's cell. */
async function connectEditors(target) {
  const editors = [];
  for (let i = 0; i < EDITORS; i++) {
    const doc = new Y.Doc();
    const provider = target.connect(doc);
    editors.push({ doc, provider, cells: doc.getArray('cells'), marks: doc.getMap('bench') });
  }
  await waitFor(`${EDITORS} editors to sync with ${target.name}`, () => editors.every((e) => e.provider.synced && e.cells.length > 0), {
    timeoutMs: 120_000,
    intervalMs: 50,
  });
  return editors;
}

/** One edit: a character in the cell, plus the key receivers time it by. */
function edit(editor, key, sent) {
  editor.doc.transact(() => {
    const source = editor.cells.get(0).get('source');
    source.insert(source.length, 'x');
    editor.marks.set(key, 0);
  });
  sent.set(key, performance.now());
}

function watchArrivals(editors, sent) {
  const latencies = [];
  let arrivals = 0;
  const unobserve = editors.map((e) => {
    const observer = (event, tx) => {
      if (tx.local) return;
      const now = performance.now();
      for (const key of event.keysChanged) {
        const at = sent.get(key);
        if (at !== undefined && !key.startsWith('w')) latencies.push(now - at);
        arrivals += 1;
      }
    };
    e.marks.observe(observer);
    return () => e.marks.unobserve(observer);
  });
  return { latencies, arrivals: () => arrivals, stop: () => unobserve.forEach((u) => u()) };
}

async function measure(target) {
  const editors = await connectEditors(target);
  const sent = new Map();

  // 1. Latency at a steady rate, editors taking turns.
  const steady = watchArrivals(editors, sent);
  const total = RATE * (SECONDS + WARMUP_S);
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    edit(editors[i % EDITORS], `${i < RATE * WARMUP_S ? 'w' : 's'}${i}`, sent);
  }
  const expected = total * (EDITORS - 1);
  const lost = await awaitArrivals(steady.arrivals, expected, { timeoutMs: 120_000 });
  steady.stop();
  const latencies = steady.latencies.sort((a, b) => a - b);

  // 2. Throughput: every editor sends its burst at once.
  const burst = watchArrivals(editors, sent);
  const burstExpected = EDITORS * BURST * (EDITORS - 1);
  const t0 = performance.now();
  for (let round = 0; round < BURST; round++) {
    for (const [n, e] of editors.entries()) edit(e, `b${round}-${n}`, sent);
    await sleep(0);
  }
  const burstLost = await awaitArrivals(burst.arrivals, burstExpected, { timeoutMs: 300_000 });
  const burstMs = performance.now() - t0;
  burst.stop();

  const texts = new Set(editors.map((e) => e.cells.get(0).get('source').toString().length));
  for (const e of editors) e.provider.destroy();
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    samples: latencies.length,
    lost,
    burstLost,
    throughput: (EDITORS * BURST) / (burstMs / 1000),
    converged: texts.size === 1,
  };
}

async function main() {
  await ensureBuild();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'tandem-collab-bench-'));
  await chmod(scratch, 0o755); // PostgreSQL runs as its own user and must reach its folder
  const results = [];
  try {
    for (const start of [startTandem, startJupyterCollaboration]) {
      const target = await start(scratch);
      try {
        results.push({ name: target.name, ...(await measure(target)) });
      } finally {
        await target.stop();
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  console.log(
    `\nCollaboration: ${EDITORS} editors in one notebook, ${RATE} edits/s for ${SECONDS} s, then bursts of ${BURST} edits per editor`,
  );
  for (const r of results) {
    console.log(
      `  ${r.name.padEnd(22)} propagation p50 ${r.p50?.toFixed(1)} ms, p99 ${r.p99?.toFixed(1)} ms (${r.samples} deliveries, ${r.lost} missing)` +
        ` | burst throughput ${r.throughput.toFixed(0)} edits/s delivered to all (${r.burstLost} missing) | converged: ${r.converged}`,
    );
  }
  const [tandem, peer] = results;
  const missing = (r) =>
    r.lost || r.burstLost || !r.converged
      ? `${r.name}: ${r.lost} steady + ${r.burstLost} burst deliveries missing${r.converged ? '' : ', documents differ'}`
      : undefined;
  console.log(`  p99 Tandem/jupyter-collaboration (information) = ${(tandem.p99 / peer.p99).toFixed(2)}`);
  verdict({
    bench: 'collab',
    name: `edit propagation p99, ${EDITORS} editors at ${RATE} edits/s`,
    value: tandem.p99,
    op: '<=',
    limit: 50,
    target: '≤ 50 ms',
    measured: `${tandem.p99?.toFixed(1)} ms (jupyter-collaboration ${peer.p99?.toFixed(1)} ms)`,
    pass: !missing(tandem),
    note: missing(tandem),
  });
  // Lost edits on either side make the burst's end, and so the ratio, meaningless.
  const lostNote = [missing(tandem), missing(peer)].filter(Boolean).join('; ');
  verdict({
    bench: 'collab',
    name: `burst throughput vs jupyter-server-ydoc ${PEER_PINS['jupyter-server-ydoc']}`,
    value: tandem.throughput / peer.throughput,
    op: '>=',
    limit: 3,
    target: '≥ 3×',
    measured: `${(tandem.throughput / peer.throughput).toFixed(2)}× (${tandem.throughput.toFixed(0)} vs ${peer.throughput.toFixed(0)} edits/s)`,
    pass: !lostNote,
    note: lostNote || undefined,
  });
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
