import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TandemError } from '../errors.js';
import { SERVER_ROOT } from '../paths.js';
import type { Notebook } from './content.js';

const REPO_ROOT = path.dirname(SERVER_ROOT);

/** The Python with nbclient: $TANDEM_PYTHON, else the repo's venv, else the machine's warm venv. */
export function pythonPath(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [env.TANDEM_PYTHON, path.join(REPO_ROOT, '.venv/bin/python'), '/tmp/warm/venv/bin/python'];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? 'python3';
}

// nbclient runs every cell and raises on the first error; the executed notebook is written either
// way so the failing output is kept for the error message.
const EXECUTE = `
import sys, json, nbformat, nbclient
src, dst, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
nb = nbformat.read(src, as_version=4)
client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name=nb.metadata.get('kernelspec', {}).get('name', 'tandem'), allow_errors=False)
try:
    client.execute()
except nbclient.exceptions.CellExecutionError as e:
    nbformat.write(nb, dst)
    print('TANDEM_CELL_ERROR ' + json.dumps({'name': e.ename, 'message': e.evalue}), file=sys.stderr)
    sys.exit(3)
nbformat.write(nb, dst)
`;

export interface RunOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Stops the run (server shutdown). */
  signal?: AbortSignal;
}

/** Executes a notebook headless with nbclient on its kernel (default `tandem`) from the repo's kernel specs. */
export async function executeNotebook(notebook: Notebook, options: RunOptions = {}): Promise<Notebook> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-refresh-'));
  const src = path.join(dir, 'in.ipynb');
  const dst = path.join(dir, 'out.ipynb');
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  try {
    await writeFile(src, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, ...notebook }));
    const stderr = await run(pythonPath(), ['-c', EXECUTE, src, dst, String(Math.ceil(timeoutMs / 1000))], {
      cwd: dir,
      timeoutMs: timeoutMs + 60_000,
      signal: options.signal,
      env: {
        ...process.env,
        JUPYTER_PATH: [path.join(REPO_ROOT, 'jupyter-config/data'), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
        ...options.env,
      },
    });
    // A stopped run's own last words (nbclient's clean-up traceback) would hide why it stopped.
    if (stderr.stopped) throw new TandemError('UNAVAILABLE', `notebook execution ${stderr.stopped}`);
    if (stderr.code !== 0) {
      const cellError = /TANDEM_CELL_ERROR (.*)/.exec(stderr.text);
      if (cellError) {
        const e = JSON.parse(cellError[1]!) as { name: string; message: string };
        throw new TandemError('UNAVAILABLE', `a cell failed: ${e.name}: ${e.message}`);
      }
      throw new TandemError('UNAVAILABLE', `notebook execution failed (exit ${stderr.code}): ${lastLines(stderr.text)}`);
    }
    return JSON.parse(await readFile(dst, 'utf8')) as Notebook;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n').slice(-2000);
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; timeoutMs: number; env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<{ code: number; text: string; stopped?: string }> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that stopping it also stops the kernel nbclient started.
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stopped: string | undefined;
    const stop = (why: string) => {
      stopped ??= why;
      text += `\n${why}`;
      // SIGINT lets nbclient shut its kernel down (it runs in its own session); then force.
      child.kill('SIGINT');
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000).unref();
    };
    const onAbort = () => stop('stopped: the server is shutting down');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let text = '';
    child.stderr.on('data', (chunk: Buffer) => {
      text = (text + chunk.toString()).slice(-20_000);
    });
    const timer = setTimeout(() => stop(`stopped after ${Math.round(opts.timeoutMs / 1000)} s`), opts.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new TandemError('UNAVAILABLE', `cannot start ${cmd}: ${error.message}`, { cause: error }));
    });
    const done = (code: number | null) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ code: code ?? 1, text, stopped });
    };
    child.on('close', done);
    // An orphaned kernel may hold stderr open: do not wait for it beyond a second after exit.
    child.on('exit', (code) => setTimeout(() => done(code), 1000).unref());
  });
}
