// Where set-up puts things. Everything generated lives under the repository (`.venv`, `.tandem`)
// so a clone is self-contained and `git clean -fdX` resets it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TANDEM_HOME = path.join(ROOT, '.tandem');
export const CACHE_DIR = path.join(TANDEM_HOME, 'cache');
export const VENV = path.join(ROOT, '.venv');
export const JUPYTER_DATA = path.join(ROOT, 'jupyter-config/data');
export const LABEXTENSION_DIR = path.join(JUPYTER_DATA, 'labextensions/@tandem/extension');
export const TEST_RESULTS = path.join(ROOT, 'test-results');
// Not node_modules/.bin/tsc: tslab's private TypeScript 5.0 can win that link.
export const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

/** The Python that runs JupyterLab: `$TANDEM_PYTHON`, else the project venv. */
export function venvPython() {
  return process.env.TANDEM_PYTHON ?? path.join(VENV, 'bin/python');
}

export function venvBin(name) {
  const dir = process.env.TANDEM_PYTHON ? path.dirname(process.env.TANDEM_PYTHON) : path.join(VENV, 'bin');
  const bin = path.join(dir, name);
  if (!existsSync(bin)) throw new Error(`${bin} is missing; run \`npm run setup\``);
  return bin;
}
