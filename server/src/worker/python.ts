import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SERVER_ROOT } from '../paths.js';

/** Shipped job templates and the `tandem_job` helper module that scripts may import. */
export const PYTHON_DIR = path.join(SERVER_ROOT, 'python');

/** The Python with pyspark (and torch, when installed): $TANDEM_PYTHON, the repo's .venv, or the warm CI venv. */
export function venvPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TANDEM_PYTHON) return env.TANDEM_PYTHON;
  const candidates = [path.join(SERVER_ROOT, '..', '.venv', 'bin', 'python'), '/tmp/warm/venv/bin/python'];
  return candidates.find((p) => existsSync(p)) ?? 'python3';
}

/** pyspark's launcher next to that Python. */
export function sparkSubmit(python: string): string {
  return path.join(path.dirname(python), 'spark-submit');
}

/** The folders a Python environment runs from: the venv and the installation it was made from. */
export function pythonInstallPaths(python: string): string[] {
  const found = spawnSync(python, ['-c', 'import sys; print(sys.prefix); print(sys.base_prefix)'], { encoding: 'utf8', timeout: 30_000 });
  const paths = (found.stdout ?? '').split('\n').filter(Boolean);
  return [...new Set([...paths, path.dirname(path.dirname(python))])];
}
