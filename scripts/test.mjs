#!/usr/bin/env node
// `npm test`: set up (with test tools), start real PostgreSQL and MinIO once, type-check the
// tests, run every suite against them, and close with one line:
// `tests: N passed, N failed, N skipped`.
//
// A suite fails (and counts at least one failed test) when it runs no test, times out, exits
// non-zero without a failing test, or leaves a report that cannot be read. The type-check is a
// gate: it fails the run and is listed with the suites, but it is not counted as tests.
// TANDEM_TEST_TIMEOUT overrides the per-suite time limits: `40m` for every suite, or
// `browser=45m,server=30m` (units s or m; a bare number is minutes).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR, ROOT, TEST_RESULTS, TSC } from './lib/paths.mjs';
import { log, startProcess, stopProcessTree } from './lib/proc.mjs';
import { startMinio, startPostgres } from './lib/services.mjs';
import { setup } from './setup.mjs';

/** Each suite is a vitest project; browser tests run last, one file at a time. */
const SUITES = [
  { name: 'server', cwd: 'server' },
  { name: 'kernel', cwd: 'kernel' },
  { name: 'extension', cwd: 'extension' },
  { name: 'browser', cwd: 'extension', config: 'test/browser/vitest.config.ts' },
];
const TYPECHECKED = ['server', 'kernel', 'extension'];

// A whole run takes 12–20 min on a loaded 2-core machine. Each limit is several times its suite's
// usual share, yet one suite hanging until its limit still leaves the others (and a cold set-up)
// inside CI's 90 minutes.
const DEFAULT_TIMEOUT_MIN = { types: 10, server: 25, kernel: 25, extension: 5, browser: 30 };

function parseDuration(text, source) {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|min)?$/.exec(text.trim());
  if (!match) throw new Error(`${source}: "${text}" is not a duration (e.g. 90s or 20m)`);
  return Number(match[1]) * (match[2] === 's' ? 1000 : 60_000);
}

function timeouts() {
  const limits = Object.fromEntries(Object.entries(DEFAULT_TIMEOUT_MIN).map(([name, min]) => [name, min * 60_000]));
  const override = process.env.TANDEM_TEST_TIMEOUT?.trim();
  if (!override) return limits;
  for (const part of override.split(',')) {
    const [name, value] = part.includes('=') ? part.split('=') : [undefined, part];
    if (name !== undefined && !(name.trim() in limits)) throw new Error(`TANDEM_TEST_TIMEOUT: no suite "${name.trim()}"`);
    const ms = parseDuration(value, 'TANDEM_TEST_TIMEOUT');
    for (const suite of name === undefined ? Object.keys(limits) : [name.trim()]) limits[suite] = ms;
  }
  return limits;
}

const formatDuration = (ms) => (ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : `${+(ms / 1000).toFixed(1)} s`);

/** Children running now, so that a signal can stop them (and their children) before the services. */
const running = new Set();
let interrupted;

/**
 * Runs a command in its own process group with inherited output. After `timeoutMs`, or when the
 * run is interrupted, it and every process it started are stopped.
 */
function runChild(cmd, args, { cwd, env, name, timeoutMs }) {
  const child = startProcess(cmd, args, { cwd, env, name, group: true });
  return new Promise((resolve) => {
    const entry = { stopped: undefined, stopping: undefined };
    entry.stop = (reason) => {
      entry.stopped ??= reason;
      entry.stopping ??= stopProcessTree(child);
      return entry.stopping;
    };
    running.add(entry);
    const timer = setTimeout(() => {
      log(`${name} timed out after ${formatDuration(timeoutMs)}: stopping it and every process it started`);
      entry.stop('timeout');
    }, timeoutMs);
    const finish = async (code, error) => {
      clearTimeout(timer);
      // Also what it left behind when it exited by itself or was stopped.
      await entry.stop(entry.stopped);
      running.delete(entry);
      resolve({ code, error, stopped: entry.stopped });
    };
    child.once('error', (error) => finish(null, error));
    child.once('exit', (code, signal) => finish(code ?? signal));
  });
}

/** Reads a vitest JSON report; throws a message for the summary when it is missing or malformed. */
function readReport(file) {
  const shown = path.relative(ROOT, file);
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      error.code === 'ENOENT' ? `no report (${shown})` : `its report ${shown} could not be read (${error.code ?? error.message})`,
    );
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`its report ${shown} is not valid JSON (${error.message})`);
  }
  const counts = ['numPassedTests', 'numFailedTests', 'numPendingTests', 'numTodoTests'];
  const valid =
    json &&
    typeof json === 'object' &&
    counts.every((key) => Number.isInteger(json[key]) && json[key] >= 0) &&
    Array.isArray(json.testResults) &&
    json.testResults.every((file) => file && typeof file.status === 'string' && Array.isArray(file.assertionResults));
  if (!valid) throw new Error(`its report ${shown} is not a vitest JSON report`);
  return json;
}

async function runVitest(suite, env, timeoutMs) {
  const report = path.join(TEST_RESULTS, `${suite.name}.json`);
  rmSync(report, { force: true, recursive: true });
  const args = [
    path.join(ROOT, 'node_modules/vitest/vitest.mjs'),
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile=${report}`,
    ...(suite.config ? ['--config', suite.config] : []),
    ...process.argv.slice(2).filter((a) => !a.startsWith('--only=')),
  ];
  log(`${suite.name} tests (time limit ${formatDuration(timeoutMs)})`);
  const started = Date.now();
  const { code, error, stopped } = await runChild('node', args, {
    cwd: path.join(ROOT, suite.cwd),
    env,
    name: `vitest ${suite.name}`,
    timeoutMs,
  });
  const result = { name: suite.name, passed: 0, failed: 0, skipped: 0, seconds: ((Date.now() - started) / 1000).toFixed(0), notes: [] };
  if (stopped === 'timeout') result.notes.push(`timed out after ${formatDuration(timeoutMs)}; it and its processes were stopped`);
  else if (stopped) result.notes.push(`stopped by ${stopped}`);
  if (error) result.notes.push(`vitest could not start: ${error.message}`);
  let json;
  try {
    json = readReport(report);
  } catch (reportError) {
    if (!stopped) result.notes.push(`vitest exited with ${code} and ${reportError.message}`);
  }
  if (json) {
    // A file that fails without a failing test (it did not load, or a beforeAll threw and its
    // tests were skipped) still counts as a failure.
    const broken = json.testResults.filter((file) => file.status === 'failed' && !file.assertionResults.some((a) => a.status === 'failed'));
    result.passed = json.numPassedTests;
    result.failed = json.numFailedTests + broken.length;
    result.skipped = json.numPendingTests + json.numTodoTests;
    if (broken.length) result.notes.push(`failed outside any test: ${broken.map((file) => path.relative(ROOT, file.name)).join(', ')}`);
    if (result.passed + result.failed === 0 && !stopped) {
      result.notes.push(
        result.skipped
          ? `no test ran: all ${result.skipped} were skipped`
          : 'no test ran: its test files are missing or none matched (see its include patterns and filters)',
      );
    } else if (code !== 0 && result.failed === 0 && !stopped) {
      // Vitest also fails a run for errors no test owns (an unhandled rejection, say).
      result.notes.push(`vitest exited with ${code}: an error outside the tests (see its output above)`);
    }
  }
  // A suite that failed without a failing test still shows in the count.
  if (result.notes.length && result.failed === 0) result.failed = 1;
  result.ok = result.notes.length === 0 && result.failed === 0;
  return result;
}

/** Vitest strips types without checking them: tsc checks every workspace's tests (and the code they import). */
async function typecheckTests(timeoutMs) {
  log(`type-checking the tests (time limit ${formatDuration(timeoutMs)})`);
  const started = Date.now();
  const deadline = started + timeoutMs;
  const failing = [];
  let stopped;
  for (const workspace of TYPECHECKED) {
    if (stopped || interrupted) break;
    const res = await runChild('node', [TSC, '-p', `${workspace}/tsconfig.test.json`], {
      cwd: ROOT,
      name: `tsc ${workspace}`,
      timeoutMs: Math.max(1, deadline - Date.now()),
    });
    stopped = res.stopped;
    if (res.code !== 0) failing.push(workspace);
  }
  const notes = [];
  if (stopped === 'timeout') notes.push(`timed out after ${formatDuration(timeoutMs)}`);
  else if (stopped) notes.push(`stopped by ${stopped}`);
  if (failing.length && !stopped) notes.push(`tsc found errors in the ${failing.join(', ')} tests (printed above)`);
  return { name: 'types', gate: true, ok: notes.length === 0, seconds: ((Date.now() - started) / 1000).toFixed(0), notes };
}

function printSummary(results, started) {
  process.stdout.write('\n');
  for (const r of results) {
    const counts = r.gate
      ? r.ok
        ? 'passed'
        : 'FAILED'
      : `${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}`;
    const failure = r.ok ? '' : `${r.gate ? '' : ' FAILED'}${r.notes.length ? `: ${r.notes.join('; ')}` : ''}`;
    log(`${r.name.padEnd(10)} ${counts} (${r.seconds} s)${failure}`);
  }
  log(`total ${((Date.now() - started) / 60_000).toFixed(1)} min; service logs and screenshots in test-results/`);
  const tests = results.filter((r) => !r.gate);
  const sum = (key) => tests.reduce((n, r) => n + r[key], 0);
  // Alone on its line, in exactly this form: CI reads it.
  process.stdout.write(`tests: ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped\n`);
  return results.every((r) => r.ok) && sum('passed') > 0;
}

async function main() {
  const started = Date.now();
  const results = [];
  const services = [];
  let scratch;
  let cleaned;
  let phase = 'set-up';
  /** Stops the suites' processes and the services, once, whatever happened before. */
  const cleanUp = () =>
    (cleaned ??= (async () => {
      await Promise.allSettled([...running].map((entry) => entry.stop(interrupted ?? 'clean-up')));
      const stops = await Promise.allSettled(services.map((s) => s.stop()));
      for (const s of stops) if (s.status === 'rejected') console.error(`stopping a service failed: ${s.reason?.message ?? s.reason}`);
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    })());
  const onSignal = (signal) => {
    if (interrupted) {
      // A second signal: stop at once (services get SIGKILL from nobody, so still try them).
      log(`${signal} again: exiting now`);
      cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
      setTimeout(() => process.exit(signal === 'SIGINT' ? 130 : 143), 20_000).unref();
      return;
    }
    interrupted = signal;
    log(`${signal}: stopping the running suite, then the services`);
    for (const entry of running) entry.stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const crash = (error) => {
    console.error(`\ntest run crashed: ${error?.stack ?? error}`);
    cleanUp().finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  try {
    const limits = timeouts();
    const only = process.argv
      .find((a) => a.startsWith('--only='))
      ?.slice('--only='.length)
      .split(',');
    const unknown = only?.filter((name) => name !== 'types' && !SUITES.some((s) => s.name === name));
    if (unknown?.length) throw new Error(`--only: no suite named ${unknown.join(', ')} (types, ${SUITES.map((s) => s.name).join(', ')})`);
    await setup({ test: true });
    mkdirSync(TEST_RESULTS, { recursive: true });
    scratch = mkdtempSync(path.join(os.tmpdir(), 'tandem-test-'));
    chmodSync(scratch, 0o755); // PostgreSQL runs as its own user when we are root
    if (interrupted) throw new Error(`interrupted by ${interrupted}`);
    phase = 'services';
    log('starting PostgreSQL and MinIO');
    // Each service is recorded as soon as it is up, and both starts settle before we go on, so
    // one that started is stopped also when the other failed.
    const starts = await Promise.allSettled([
      startPostgres({ dir: path.join(scratch, 'pg'), logFile: path.join(TEST_RESULTS, 'postgres.log') }).then((s) => (services.push(s), s)),
      startMinio({ dir: path.join(scratch, 'minio'), logFile: path.join(TEST_RESULTS, 'minio.log') }).then((s) => (services.push(s), s)),
    ]);
    const failedStart = starts.find((s) => s.status === 'rejected');
    if (failedStart) throw failedStart.reason;
    const [pg, minio] = starts.map((s) => s.value);
    const env = {
      CI: process.env.CI ?? 'true',
      TANDEM_TEST_DATABASE_URL: pg.url,
      TANDEM_TEST_S3_ENDPOINT: minio.env.TANDEM_S3_ENDPOINT,
      TANDEM_TEST_S3_ACCESS_KEY: minio.env.TANDEM_S3_ACCESS_KEY,
      TANDEM_TEST_S3_SECRET_KEY: minio.env.TANDEM_S3_SECRET_KEY,
      // Spark workers find the driver class archive set-up built.
      TANDEM_CACHE_DIR: CACHE_DIR,
    };
    phase = 'run';
    if (!interrupted && (!only || only.includes('types'))) results.push(await typecheckTests(limits.types));
    for (const suite of SUITES.filter((s) => !only || only.includes(s.name))) {
      if (interrupted) break;
      results.push(await runVitest(suite, env, limits[suite.name]));
    }
    if (interrupted) results.push({ name: 'run', gate: true, ok: false, seconds: 0, notes: [`interrupted by ${interrupted}`] });
  } catch (error) {
    console.error(`\ntest run aborted: ${error.stack ?? error}`);
    // Not a test, but counted as a failed one: the run could not test what it should have.
    results.push({ name: phase, passed: 0, failed: 1, skipped: 0, seconds: 0, ok: false, notes: [`aborted: ${error.message}`] });
  } finally {
    await cleanUp();
  }
  const ok = printSummary(results, started);
  process.exit(interrupted ? (interrupted === 'SIGINT' ? 130 : 143) : ok ? 0 : 1);
}

main();
