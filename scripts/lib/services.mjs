// Real PostgreSQL and MinIO servers on private ports and data folders, for tests and benches.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { freePort, startProcess, stopProcess, waitFor, httpOk, which, run } from './proc.mjs';

export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => b - a)
    : [];
  const dir = versions.map((v) => path.join(root, v, 'bin')).find((d) => existsSync(path.join(d, 'initdb')));
  if (dir) return dir;
  const initdb = which('initdb');
  return initdb ? path.dirname(initdb) : undefined;
}

export function minioBinary() {
  const onPath = which('minio');
  if (onPath) return onPath;
  const gopath = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).stdout?.trim();
  const candidate = gopath && path.join(gopath, 'bin', 'minio');
  return candidate && existsSync(candidate) ? candidate : undefined;
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` system user. */
function asPgUser(cmd, args) {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/**
 * Starts a throwaway PostgreSQL cluster in `dir` (created on first use) and returns its URL.
 * Settings favour test speed over durability (fsync off).
 */
export async function startPostgres({ dir, port, logFile }) {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql); run `npm run setup -- --test`');
  return onFreePort(port, (port) => startPostgresOn(bin, { dir, port, logFile }));
}

async function startPostgresOn(bin, { dir, port, logFile }) {
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() === 0) {
    chownSync(dir, uidOf('postgres'), gidOf('postgres'));
    chmodSync(dir, 0o700);
  }
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    const [cmd, args] = asPgUser(path.join(bin, 'initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    run(cmd, args, { quiet: true });
  }
  const [cmd, args] = asPgUser(path.join(bin, 'postgres'), [
    '-D',
    dir,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=300',
  ]);
  const child = startProcess(cmd, args, { logStream: logFile ? createWriteStream(logFile) : undefined, name: 'postgres' });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitFor('PostgreSQL', () => isReady(bin, port), { child, timeoutMs: 60_000 }).catch(async (error) => {
    await stopProcess(child, 15_000); // one that never became ready is not left running
    throw error;
  });
  return { url, port, stop: () => stopProcess(child, 15_000), child };
}

function isReady(bin, port) {
  return spawnSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres']).status === 0;
}

function uidOf(user) {
  return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
}
function gidOf(user) {
  return Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
}

/**
 * PostgreSQL and MinIO cannot listen on port 0 and report the port, so a free one is picked and
 * may be taken by someone else before they bind it: then the server exits early, and it starts
 * again on another port. A port the caller chose is used as it is.
 */
async function onFreePort(port, start) {
  if (port !== undefined) return start(port);
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (attempt >= 3 || !/exited early/.test(String(error?.message))) throw error;
    }
  }
}

/**
 * The MinIO build the tests run on, pinned (go install of a fixed pseudo-version from the Go
 * module proxy; MinIO publishes no Go module tags): a new MinIO is a deliberate change.
 */
export const MINIO_MODULE = 'github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c';

export const MINIO_ACCESS_KEY = 'tandem-test';
export const MINIO_SECRET_KEY = 'tandem-test-secret';

/** Starts a MinIO server on `dir`; returns the TANDEM_S3_* settings that point at it. */
export async function startMinio({ dir, port, logFile }) {
  const bin = minioBinary();
  if (!bin) throw new Error(`MinIO is not installed; run \`npm run setup -- --test\` (go install ${MINIO_MODULE})`);
  return onFreePort(port, (port) => startMinioOn(bin, { dir, port, logFile }));
}

async function startMinioOn(bin, { dir, port, logFile }) {
  const consolePort = await freePort();
  mkdirSync(dir, { recursive: true });
  const child = startProcess(
    bin,
    ['server', dir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
    {
      env: { MINIO_ROOT_USER: MINIO_ACCESS_KEY, MINIO_ROOT_PASSWORD: MINIO_SECRET_KEY, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
      logStream: logFile ? createWriteStream(logFile) : undefined,
      name: 'minio',
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('MinIO', () => httpOk(`${endpoint}/minio/health/live`), { child, timeoutMs: 60_000 }).catch(async (error) => {
    await stopProcess(child);
    throw error;
  });
  return {
    endpoint,
    port,
    env: { TANDEM_S3_ENDPOINT: endpoint, TANDEM_S3_ACCESS_KEY: MINIO_ACCESS_KEY, TANDEM_S3_SECRET_KEY: MINIO_SECRET_KEY },
    stop: () => stopProcess(child),
    child,
  };
}
