import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadWorkerConfig } from '../config.js';
import { SERVER_ROOT } from '../paths.js';

/** Shipped job templates and the `tandem_job` helper module that scripts may import. */
export const PYTHON_DIR = path.join(SERVER_ROOT, 'python');

/** The Python with pyspark (and torch, when installed) that the worker runs jobs with: its configured one. */
export function venvPython(): string {
  return loadWorkerConfig().python;
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
