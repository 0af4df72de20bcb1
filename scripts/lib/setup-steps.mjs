// The individual set-up steps. Each is idempotent and cached; `scripts/setup.mjs` runs them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cachedStep, hashInputs } from './cache.mjs';
import { CACHE_DIR, LABEXTENSION_DIR, ROOT, TSC, VENV, venvPython } from './paths.mjs';
import { log, run, which } from './proc.mjs';
import { MINIO_MODULE, minioBinary, postgresBinDir } from './services.mjs';

const NPM_ENV = { ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_fund: 'false', npm_config_audit: 'false' };

const NPM_INPUTS = ['package.json', 'package-lock.json', 'server/package.json', 'kernel/package.json', 'extension/package.json'];

export async function ensureNodeModules() {
  const present = () => existsSync(path.join(ROOT, 'node_modules/.package-lock.json'));
  // `npm install` rather than `npm ci`: npm 11 writes lock files without other platforms'
  // optional packages, which `npm ci` then rejects as out of sync.
  await cachedStep('node-modules', {
    hash: hashInputs(NPM_INPUTS),
    present,
    execute: () => {
      log('installing npm dependencies');
      run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: ROOT, env: NPM_ENV });
    },
    rehash: () => hashInputs(NPM_INPUTS),
  });
}

function basePython() {
  for (const cmd of ['python3', 'python']) {
    const bin = which(cmd);
    if (!bin) continue;
    const version = spawnSync(bin, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).stdout.trim();
    const [major, minor] = version.split('.').map(Number);
    if (major === 3 && minor >= 10) return bin;
  }
  throw new Error('Python 3.10+ is required (python3 on PATH) to run JupyterLab');
}

/** The project venv: JupyterLab and friends (`requirements.txt`), plus test peers with `dev`. */
export async function ensureVenv({ dev }) {
  if (process.env.TANDEM_PYTHON) return; // an externally managed Python
  const runtime = hashInputs(['requirements.txt']);
  const hash = dev ? `${runtime}+${hashInputs(['requirements-dev.txt', 'requirements-gpu.txt'])}` : runtime;
  const stampFile = path.join(ROOT, '.tandem/cache/venv.stamp');
  const python = venvPython();
  // A venv set up for tests also serves `npm start`.
  if (!dev && existsSync(python) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').startsWith(runtime)) return;
  await cachedStep('venv', {
    hash,
    present: () => existsSync(python),
    execute: () => {
      if (!existsSync(python)) {
        log(`creating the Python venv in ${path.relative(ROOT, VENV)}`);
        rmSync(VENV, { recursive: true, force: true });
        run(basePython(), ['-m', 'venv', VENV]);
      }
      const file = dev ? 'requirements-dev.txt' : 'requirements.txt';
      log(`installing Python packages from ${file} (first run downloads JupyterLab and pyspark)`);
      run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '-r', path.join(ROOT, file)]);
    },
  });
}

const TS_INPUTS = [
  'tsconfig.json',
  'package-lock.json',
  'server/src',
  'server/tsconfig.json',
  'kernel/src',
  'kernel/tsconfig.json',
  'extension/src',
  'extension/tsconfig.json',
];

/** Compiles the three workspaces and, when the extension changed, the JupyterLab bundle. */
export async function ensureBuild() {
  const built = () =>
    ['server/dist/src/cli.js', 'kernel/dist/src/index.js', 'extension/lib/index.js'].every((f) => existsSync(path.join(ROOT, f)));
  await cachedStep('typescript', {
    hash: hashInputs(TS_INPUTS),
    present: built,
    execute: () => {
      log('compiling TypeScript (server, kernel, extension)');
      // --force when outputs are missing: a stale .tsbuildinfo would otherwise claim "up to date".
      run('node', [TSC, '-b', 'server', 'kernel', 'extension', ...(built() ? [] : ['--force'])], { cwd: ROOT });
    },
  });
  await ensureLabExtension();
}

export async function ensureLabExtension() {
  // server/src/api: the extension bundles the shared API client.
  const hash = hashInputs([
    'package-lock.json',
    'extension/src',
    'extension/style',
    'extension/schema',
    'extension/package.json',
    'server/src/api',
  ]);
  await cachedStep('labextension', {
    hash,
    present: () => existsSync(path.join(LABEXTENSION_DIR, 'package.json')),
    execute: () => {
      log('building the JupyterLab extension');
      run('node', [TSC, '-b', 'extension'], { cwd: ROOT });
      const site = run(venvPython(), ['-c', 'import jupyterlab, os; print(os.path.dirname(jupyterlab.__file__))'], { quiet: true }).trim();
      // The builder normally runs through `jupyter labextension build`, which needs jlpm; calling it
      // directly avoids jlpm and its extra registry lookups.
      run(
        'node',
        [
          path.join(ROOT, 'node_modules/@jupyterlab/builder/lib/build-labextension.js'),
          '--core-path',
          path.join(site, 'staging'),
          'extension',
        ],
        { cwd: ROOT, quiet: true },
      );
    },
  });
}

/**
 * The Spark driver class archive (see server/src/worker/spark-class-archive.ts), so that tests'
 * Spark workers start their jobs from it rather than each building it. `npm start`'s worker
 * builds it in the background instead, not to delay the first start.
 */
export async function ensureSparkClassArchive() {
  const { prepareSparkClassArchive } = await import(path.join(ROOT, 'server/dist/src/worker/spark-class-archive.js'));
  const file = await prepareSparkClassArchive({ python: venvPython(), cacheDir: CACHE_DIR, log });
  if (!file) log('Spark jobs in the tests start without a driver class archive (see above)');
}

function aptInstall(packages) {
  const sudo = process.getuid?.() === 0 ? [] : which('sudo') ? ['sudo', '-n'] : undefined;
  if (!sudo) throw new Error(`${packages.join(', ')} missing and not root: install them with apt-get install ${packages.join(' ')}`);
  const apt = (args) =>
    sudo.length
      ? run(sudo[0], [...sudo.slice(1), 'apt-get', ...args], { env: { DEBIAN_FRONTEND: 'noninteractive' } })
      : run('apt-get', args, { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  log(`installing ${packages.join(', ')} from Debian`);
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
}

/**
 * Bubblewrap for `npm start`'s worker, which isolates jobs with it. Installed when set-up may use
 * apt-get (root or sudo without a password); otherwise the worker says that jobs run unsandboxed.
 */
export function ensureSandbox() {
  if (which('bwrap')) return;
  try {
    aptInstall(['bubblewrap']);
  } catch (error) {
    log(`jobs will run without a sandbox: ${error.message}`);
  }
}

/**
 * Test-only system tools: PostgreSQL, Chromium (and Java for Spark) from Debian, MinIO built with
 * Go. The MinIO build takes minutes on a fresh machine, so it runs in the background while the
 * rest of set-up proceeds; await the returned promise before starting MinIO.
 */
export function ensureTestTools() {
  const minio = minioBinary() ? Promise.resolve() : buildMinio();
  const missing = [];
  if (!postgresBinDir()) missing.push('postgresql');
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (!javaOk()) missing.push('openjdk-17-jre-headless');
  // The worker sandboxes jobs with bubblewrap; the security tests check what a job can reach.
  if (!which('bwrap')) missing.push('bubblewrap');
  if (missing.length) aptInstall(missing);
  return minio;
}

function buildMinio() {
  if (!which('go')) return Promise.reject(new Error(`Go 1.24+ is required to build MinIO (go install ${MINIO_MODULE})`));
  log('building MinIO with go install in the background (first run only; takes minutes)');
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['install', MINIO_MODULE], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install ${MINIO_MODULE} exited with ${code}\n${stderr}`))));
  });
}

function javaOk() {
  const res = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return Number(/version "(\d+)/.exec(res.stderr ?? '')?.[1]) >= 17;
}
