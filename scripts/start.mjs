#!/usr/bin/env node
// `npm start`: set up what is missing, then run the Tandem server on embedded defaults and
// JupyterLab with the extension and kernel, and print one URL. Ctrl-C stops everything.
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startJupyterLab } from './lib/jupyter.mjs';
import { CACHE_DIR, ROOT, TANDEM_HOME } from './lib/paths.mjs';
import { httpOk, log, portOrFree, startProcess, stopProcess, waitFor } from './lib/proc.mjs';
import { setup } from './setup.mjs';

const LOGS = path.join(TANDEM_HOME, 'logs');

const home = () => process.env.TANDEM_HOME ?? TANDEM_HOME;

/**
 * The server, with JupyterLab's origin among TANDEM_ALLOWED_ORIGINS: the extension calls it with
 * the person's session cookie, which the server allows only to origins listed by name. So
 * JupyterLab's port is chosen first, here.
 */
async function startTandemServer() {
  const labPort = await portOrFree(Number(process.env.JUPYTER_PORT ?? 8888));
  const port = await portOrFree(Number(process.env.TANDEM_PORT ?? 8787));
  const listed = process.env.TANDEM_ALLOWED_ORIGINS;
  const origins = [...(listed && listed !== '*' ? [listed] : []), `http://127.0.0.1:${labPort}`].join(',');
  const child = startProcess('node', [path.join(ROOT, 'server/dist/src/cli.js'), 'serve'], {
    env: { TANDEM_HOME: home(), TANDEM_PORT: String(port), TANDEM_ALLOWED_ORIGINS: origins },
    logStream: createWriteStream(path.join(LOGS, 'server.log'), { flags: 'a' }),
    name: 'tandem server',
    group: true,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the Tandem server', () => httpOk(`${url}/healthz`), { child, timeoutMs: 60_000 });
  // The admin token stays here, for set-up (the worker's token); JupyterLab and kernels never see it.
  const token = readFileSync(path.join(home(), 'token'), 'utf8').trim();
  return { child, url, token, labPort };
}

/**
 * Single-person mode (no TANDEM_AUTH): the server's sign-in key, which the extension trades for a
 * session of the local user. In team mode people sign in themselves.
 */
function signInKey() {
  if (process.env.TANDEM_AUTH) return undefined;
  return readFileSync(path.join(home(), 'sign-in-key'), 'utf8').trim();
}

async function startLab(tandem) {
  const token = randomBytes(24).toString('hex');
  const key = signInKey();
  const rootDir = notebooksDir();
  const { url, child } = await startJupyterLab({
    port: tandem.labPort,
    token,
    rootDir,
    home: path.join(TANDEM_HOME, 'jupyter'),
    tandemUrl: tandem.url,
    pageConfig: key ? { tandemSignInKey: key } : {},
    logFile: path.join(LOGS, 'jupyterlab.log'),
  });
  return { child, url: `${url}/lab?token=${token}` };
}

/** The local worker's token, kept in `.tandem/worker-token` and reused while the server accepts it. */
async function workerToken(tandem) {
  const file = path.join(home(), 'worker-token');
  const api = (apiPath, init = {}) => fetch(`${tandem.url}/tandem/api/${apiPath}`, init);
  if (existsSync(file)) {
    const saved = readFileSync(file, 'utf8').trim();
    if ((await api('workers', { headers: { authorization: `Bearer ${saved}` } })).ok) return saved;
  }
  const res = await api('tokens', {
    method: 'POST',
    headers: { authorization: `Bearer ${tandem.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'local worker', kind: 'worker' }),
  });
  if (!res.ok) throw new Error(`creating a worker token failed: HTTP ${res.status} ${await res.text()}`);
  const { token } = await res.json();
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

const notebooksDir = () => process.env.TANDEM_NOTEBOOKS ?? path.join(ROOT, 'notebooks');

/**
 * A local worker agent for Spark (local[*]), GPU jobs (on the CPU when there is no NVIDIA GPU) and
 * notebook jobs (dashboard refreshes: the server runs no notebooks itself).
 * Its sandboxed jobs may read the notebooks folder, so scripts and files next to a notebook work by path.
 */
async function startLocalWorker(tandem) {
  const args = [
    path.join(ROOT, 'server/dist/src/cli.js'),
    'worker',
    '--spark',
    '--gpu',
    '--allow-cpu',
    '--notebook',
    '--share',
    notebooksDir(),
    '--server',
    tandem.url,
  ];
  const child = startProcess('node', args, {
    env: { TANDEM_WORKER_TOKEN: await workerToken(tandem), TANDEM_CACHE_DIR: CACHE_DIR },
    logStream: createWriteStream(path.join(LOGS, 'worker.log'), { flags: 'a' }),
    name: 'tandem worker',
    group: true,
  });
  return { child };
}

/**
 * The managed processes, started in order; each gets what the earlier ones returned. A step
 * returns `{ child }` (stopped in reverse order on exit) and anything later steps need.
 */
const PROCESSES = [
  ['tandem', () => startTandemServer()],
  ['lab', ({ tandem }) => startLab(tandem)],
  ['worker', ({ tandem }) => startLocalWorker(tandem)],
];

async function main() {
  await setup();
  mkdirSync(LOGS, { recursive: true });
  const running = {};
  let stopping = false;
  const stopAll = async (code) => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    for (const name of Object.keys(running).reverse()) await stopProcess(running[name].child);
    process.exit(code);
  };
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
  try {
    for (const [name, start] of PROCESSES) {
      running[name] = await start(running);
      running[name].child.once('exit', (code, signal) => {
        if (stopping) return;
        log(`${name} exited (${code ?? signal}); see ${path.relative(ROOT, LOGS)}/`);
        void stopAll(1);
      });
    }
  } catch (error) {
    console.error(`\nnpm start failed: ${error.message}\nlogs: ${path.relative(ROOT, LOGS)}/`);
    await stopAll(1);
  }
  const db = existsSync(path.join(TANDEM_HOME, 'db')) ? '.tandem/db (PGlite)' : 'PGlite';
  log(`Tandem server ${running.tandem.url} · metadata ${db} · artifacts .tandem/artifacts · logs .tandem/logs`);
  log('Ctrl-C stops everything. Open JupyterLab at:');
  process.stdout.write(`\n    ${running.lab.url}\n\n`);
}

main();
