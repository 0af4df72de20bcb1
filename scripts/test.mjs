#!/usr/bin/env node
// `npm test`: set up (with test tools), start real PostgreSQL and MinIO once, run every suite
// against them, and close with one line: `tests: N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR, ROOT, TEST_RESULTS, TSC } from './lib/paths.mjs';
import { log, startProcess } from './lib/proc.mjs';
import { startMinio, startPostgres } from './lib/services.mjs';
import { setup } from './setup.mjs';

/** Each suite is a vitest project; browser tests run last, one file at a time. */
const SUITES = [
  { name: 'server', cwd: 'server' },
  { name: 'kernel', cwd: 'kernel' },
  { name: 'extension', cwd: 'extension' },
  { name: 'browser', cwd: 'extension', config: 'test/browser/vitest.config.ts' },
];

function runVitest(suite, env) {
  const report = path.join(TEST_RESULTS, `${suite.name}.json`);
  rmSync(report, { force: true });
  const args = [
    path.join(ROOT, 'node_modules/vitest/vitest.mjs'),
    'run',
    '--passWithNoTests',
    '--reporter=default',
    '--reporter=json',
    `--outputFile=${report}`,
    ...(suite.config ? ['--config', suite.config] : []),
    ...process.argv.slice(2).filter((a) => !a.startsWith('--only=')),
  ];
  log(`${suite.name} tests`);
  const started = Date.now();
  const child = startProcess('node', args, { cwd: path.join(ROOT, suite.cwd), env, name: `vitest ${suite.name}` });
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      if (!existsSync(report)) {
        resolve({ name: suite.name, passed: 0, failed: 1, seconds, note: `vitest exited with ${code} before reporting` });
        return;
      }
      const json = JSON.parse(readFileSync(report, 'utf8'));
      // A file that fails without a failing test (it did not load, or a beforeAll threw and its
      // tests were skipped) still counts as a failure.
      const broken = json.testResults.filter(
        (file) => file.status === 'failed' && !file.assertionResults.some((a) => a.status === 'failed'),
      );
      const failed = json.numFailedTests + broken.length;
      // Vitest also fails a run for errors no test owns (an unhandled rejection, say).
      const unowned = code !== 0 && failed === 0;
      resolve({
        name: suite.name,
        passed: json.numPassedTests,
        failed: unowned ? 1 : failed,
        skipped: json.numPendingTests + json.numTodoTests,
        seconds,
        note: unowned
          ? `vitest exited with ${code}: an error outside the tests (see its output above)`
          : broken.length
            ? `failed outside any test: ${broken.map((file) => path.relative(ROOT, file.name)).join(', ')}`
            : undefined,
      });
    });
  });
}

/** Vitest strips types without checking them: tsc checks every workspace's tests (and the code they import). */
function typecheckTests() {
  log('type-checking the tests');
  const started = Date.now();
  const failing = ['server', 'kernel', 'extension'].filter(
    (workspace) => spawnSync('node', [TSC, '-p', `${workspace}/tsconfig.test.json`], { cwd: ROOT, stdio: 'inherit' }).status !== 0,
  );
  return {
    name: 'types',
    passed: 3 - failing.length,
    failed: failing.length,
    seconds: ((Date.now() - started) / 1000).toFixed(0),
    note: failing.length ? `tsc found errors in the ${failing.join(', ')} tests (printed above)` : undefined,
  };
}

async function main() {
  const started = Date.now();
  await setup({ test: true });
  mkdirSync(TEST_RESULTS, { recursive: true });
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'tandem-test-'));
  chmodSync(scratch, 0o755); // PostgreSQL runs as its own user when we are root
  const services = [];
  const cleanUp = async () => {
    await Promise.all(services.map((s) => s.stop()));
    rmSync(scratch, { recursive: true, force: true });
  };
  process.on('SIGINT', () => cleanUp().then(() => process.exit(130)));
  process.on('SIGTERM', () => cleanUp().then(() => process.exit(143)));
  const results = [];
  try {
    log('starting PostgreSQL and MinIO');
    const [pg, minio] = await Promise.all([
      startPostgres({ dir: path.join(scratch, 'pg'), logFile: path.join(TEST_RESULTS, 'postgres.log') }),
      startMinio({ dir: path.join(scratch, 'minio'), logFile: path.join(TEST_RESULTS, 'minio.log') }),
    ]);
    services.push(pg, minio);
    const env = {
      CI: process.env.CI ?? 'true',
      TANDEM_TEST_DATABASE_URL: pg.url,
      TANDEM_TEST_S3_ENDPOINT: minio.env.TANDEM_S3_ENDPOINT,
      TANDEM_TEST_S3_ACCESS_KEY: minio.env.TANDEM_S3_ACCESS_KEY,
      TANDEM_TEST_S3_SECRET_KEY: minio.env.TANDEM_S3_SECRET_KEY,
      // Spark workers find the driver class archive set-up built.
      TANDEM_CACHE_DIR: CACHE_DIR,
    };
    const only = process.argv
      .find((a) => a.startsWith('--only='))
      ?.slice('--only='.length)
      .split(',');
    if (!only || only.includes('types')) results.push(typecheckTests());
    for (const suite of SUITES.filter((s) => !only || only.includes(s.name))) results.push(await runVitest(suite, env));
  } catch (error) {
    console.error(`\ntest run aborted: ${error.message}`);
    results.push({ name: 'set-up', passed: 0, failed: 1, seconds: 0, note: error.message });
  } finally {
    await cleanUp();
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  process.stdout.write('\n');
  for (const r of results) {
    log(
      `${r.name.padEnd(10)} ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''} (${r.seconds} s)${r.note ? ` — ${r.note}` : ''}`,
    );
  }
  log(`total ${((Date.now() - started) / 60_000).toFixed(1)} min; service logs and screenshots in test-results/`);
  process.stdout.write(`tests: ${passed} passed, ${failed} failed\n`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

main();
