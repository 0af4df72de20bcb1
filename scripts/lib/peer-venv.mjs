// Venvs of their own for the Python peers benches and tests compare against (MLflow, FastAPI,
// Prefect, Evidently, …): each is pinned in a requirements file and kept out of the project venv,
// installed once with the project venv's pip and re-installed only when a pin changes.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, TANDEM_HOME, venvPython } from './paths.mjs';

/** name → version pinned in a requirements file (`name==version` lines, `#` comments). */
export function readPins(requirements) {
  return Object.fromEntries(
    readFileSync(requirements, 'utf8')
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter(Boolean)
      .map((line) => line.split('==')),
  );
}

const sitePackages = (python) =>
  spawnSync(python, ['-c', 'import site; print(site.getsitepackages()[0])'], { encoding: 'utf8' }).stdout.trim();

/**
 * The Python of `.tandem/<name>`, holding exactly the pins of `requirements`; `imports` are modules
 * that must import. With `layered`, the project venv's packages are visible too (a peer that needs
 * jupyter_server, say), pinned ones taking precedence.
 */
export function ensurePeerVenv({ name, requirements, imports, layered = false }) {
  const venv = path.join(TANDEM_HOME, name);
  const python = path.join(venv, 'bin/python');
  const pins = readPins(requirements);
  const check = () =>
    spawnSync(
      python,
      [
        '-c',
        `import json, sys; from importlib.metadata import version; import ${imports.join(', ')}; ` +
          'sys.exit(any(version(n) != v for n, v in json.loads(sys.argv[1]).items()))',
        JSON.stringify(pins),
      ],
      { stdio: 'ignore' },
    ).status === 0;
  if (existsSync(python) && check()) return { python, pins };
  const base = venvPython();
  console.log(`installing ${path.relative(ROOT, requirements)} into ${path.relative(ROOT, venv)} (once)`);
  if (!existsSync(python)) spawnSync(base, ['-m', 'venv', '--without-pip', venv], { stdio: 'inherit' });
  if (layered) writeFileSync(path.join(sitePackages(python), 'tandem-project-venv.pth'), `${sitePackages(base)}\n`);
  const pip = spawnSync(base, ['-m', 'pip', '--python', python, 'install', '-q', '--disable-pip-version-check', '-r', requirements], {
    stdio: 'inherit',
  });
  if (pip.status !== 0 || !check())
    throw new Error(`installing ${path.relative(ROOT, requirements)} into ${path.relative(ROOT, venv)} failed`);
  return { python, pins };
}
