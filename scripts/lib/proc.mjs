// Small process helpers shared by set-up, start, test and bench scripts (no dependencies: they
// run before `npm ci`).
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export const log = (msg) => process.stdout.write(`\x1b[36m[tandem]\x1b[0m ${msg}\n`);

/** Runs a command to completion, inheriting stdio unless `quiet`; throws with its output on failure. */
export function run(cmd, args, { quiet = false, env, cwd, input } = {}) {
  const res = spawnSync(cmd, args, {
    stdio: quiet ? ['pipe', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    env: env ? { ...process.env, ...env } : process.env,
    cwd,
    input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (res.error) throw new Error(`${cmd} could not start: ${res.error.message}`, { cause: res.error });
  if (res.status !== 0) {
    const output = quiet ? `\n${res.stdout ?? ''}${res.stderr ?? ''}`.slice(-4000) : '';
    throw new Error(`${cmd} ${args.join(' ')} exited with ${res.status ?? res.signal}${output}`);
  }
  return res.stdout ?? '';
}

export function which(cmd) {
  const res = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

/**
 * Starts a long-running child; its output goes to `logStream` or is inherited. `group: true`
 * gives it its own process group, so a terminal's Ctrl-C reaches only us and `stopProcess` can
 * stop its whole tree (JupyterLab's kernels, say).
 */
export function startProcess(cmd, args, { env, cwd, logStream, name = cmd, group = false } = {}) {
  const child = spawn(cmd, args, {
    env: env ? { ...process.env, ...env } : process.env,
    cwd,
    stdio: ['ignore', logStream ? 'pipe' : 'inherit', logStream ? 'pipe' : 'inherit'],
    detached: group,
  });
  child.group = group;
  if (logStream) {
    child.stdout.pipe(logStream, { end: false });
    child.stderr.pipe(logStream, { end: false });
  }
  child.name = name;
  return child;
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and waits for the exit. */
export function stopProcess(child, graceMs = 10_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const signal = (sig) => {
      try {
        if (child.group) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => signal('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    signal('SIGTERM');
  });
}

/** `preferred` when nothing listens on it, else any free port. */
export function portOrFree(preferred) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(freePort()));
    srv.listen(preferred, '127.0.0.1', () => srv.close(() => resolve(preferred)));
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns truthy or `timeoutMs` passes; `child` exiting early fails fast. */
export async function waitFor(what, check, { timeoutMs = 60_000, intervalMs = 200, child } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what}: process exited early with ${child.exitCode ?? child.signalCode}`);
    }
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
}

export async function httpOk(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok;
}

/** Every process on the machine (through `ps`): pid, parent, process group; zombies left out. */
function processTable() {
  const res = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,stat='], { encoding: 'utf8' });
  if (res.status !== 0) return undefined;
  return res.stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, , , stat]) => !stat?.startsWith('Z'))
    .map(([pid, ppid, pgid]) => ({ pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid) }));
}

/**
 * Stops `child` and everything it started, also processes that left its process group (a
 * JupyterLab started with `group: true` by a test, say): SIGTERM to each process and its group,
 * SIGKILL to whatever is left after `graceMs`. Never signals our own process or process group.
 */
export async function stopProcessTree(child, graceMs = 10_000) {
  if (child.pid === undefined) return; // it never started
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  /** pid → process group of every live process in the tree; orphans stay known after their parent exits. */
  let known = new Map([[child.pid, child.group ? child.pid : undefined]]);
  let own;
  const scan = () => {
    const table = processTable();
    if (!table) return;
    own ??= table.find((p) => p.pid === process.pid)?.pgid;
    const alive = new Map();
    // Its group's members count too: they outlive it when it exits by itself.
    const queue = table.filter((p) => known.has(p.pid) || (child.group && p.pgid === child.pid));
    for (let i = 0; i < queue.length; i++) {
      alive.set(queue[i].pid, queue[i].pgid);
      queue.push(...table.filter((p) => p.ppid === queue[i].pid && !alive.has(p.pid)));
    }
    alive.delete(process.pid);
    known = alive;
  };
  const signal = (sig) => {
    const groups = new Set([...known.values()].filter((g) => g !== undefined && g !== own && g > 1));
    for (const target of [...[...groups].map((g) => -g), ...known.keys()]) {
      try {
        process.kill(target, sig);
      } catch {
        // already gone
      }
    }
  };
  scan();
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    scan();
    if (exited() && known.size === 0) return;
  }
  scan();
  signal('SIGKILL');
  if (!exited()) await new Promise((resolve) => child.once('exit', resolve));
}
