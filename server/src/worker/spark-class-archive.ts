import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inheritedEnvironment, loadWorkerConfig } from '../config.js';
import { runSupervised } from './job-process.js';
import { PYTHON_DIR, sparkSubmit } from './python.js';
import { sparkProgressConf } from './spark-progress.js';

/**
 * A Spark driver spends seconds of CPU finding its classes among Spark's ~250 jars. A JVM
 * class-data-sharing archive of those classes, dumped once per Spark installation and JVM, makes
 * drivers start from memory-mapped classes instead: jobs finish seconds sooner.
 */

const BUILD_TIMEOUT_MS = 5 * 60_000;
const FILE_PREFIX = 'spark-driver-';
/** A stale archive is ignored quietly rather than warned about in every job's log. */
const QUIET = '-Xlog:cds=off -Xlog:cds+dynamic=off';
/** The Spark conf for driver JVM options that come before the user's `spark.driver.extraJavaOptions`. */
export const DRIVER_JAVA_OPTIONS = 'spark.driver.defaultJavaOptions';

/** Where workers keep the archive unless told otherwise: the worker configuration's `cacheDir`. */
export function defaultCacheDir(): string {
  return loadWorkerConfig().cacheDir;
}

/** JVM options that start a driver from `archive`. */
export function classArchiveJavaOptions(archive: string): string {
  return `-XX:SharedArchiveFile=${archive} ${QUIET}`;
}

/** The java that spark-class runs: $JAVA_HOME/bin/java, else java on PATH. */
function sparkJava(env: NodeJS.ProcessEnv): string | undefined {
  if (env.JAVA_HOME) return path.join(env.JAVA_HOME, 'bin', 'java');
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'java');
    if (dir && existsSync(candidate)) return realpathSync(candidate);
  }
  return undefined;
}

const run = promisify(execFile);

/** $SPARK_HOME, else the pyspark package next to `python` (without importing it, which takes a second). */
async function sparkHome(python: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (env.SPARK_HOME) return env.SPARK_HOME;
  const script = 'import importlib.util as u; s = u.find_spec("pyspark"); print(s.submodule_search_locations[0] if s else "")';
  const found = await run(python, ['-c', script], { env }).catch(() => undefined);
  return found?.stdout.trim() || undefined;
}

/**
 * The archive file for this Spark installation and JVM: named by a hash of the java binary, its
 * version and Spark's jar list, so an upgrade of either gets a new archive instead of a stale one.
 * Undefined when there is no Spark or no Java to archive.
 */
export async function sparkClassArchiveFile(
  python: string,
  cacheDir: string,
  env: NodeJS.ProcessEnv = inheritedEnvironment(),
): Promise<string | undefined> {
  const java = sparkJava(env);
  const home = await sparkHome(python, env);
  if (!java || !home) return undefined;
  const jarsDir = path.join(home, 'jars');
  const jars = await readdir(jarsDir).catch(() => undefined);
  if (!jars) return undefined;
  const version = await run(java, ['-version']).then(
    (out) => out.stderr,
    () => 'no version',
  );
  const hash = createHash('sha256').update(java).update('\0').update(version).update('\0');
  for (const jar of jars.sort()) {
    const { size, mtimeMs } = await stat(path.join(jarsDir, jar));
    hash.update(`${jar}:${size}:${mtimeMs}\0`);
  }
  return path.join(cacheDir, `${FILE_PREFIX}${hash.digest('hex').slice(0, 16)}.jsa`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `${file}.lock` unless a live process holds it; a lock left by a dead builder is taken over. */
async function lock(file: string): Promise<(() => Promise<void>) | undefined> {
  const lockFile = `${file}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(lockFile, 'utf8').catch(() => ''));
      if (holder && isAlive(holder)) return undefined;
      await rm(lockFile, { force: true });
    }
  }
  return undefined;
}

async function runWarmup(python: string, archive: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<void> {
  // Jobs' drivers write an event log instead of serving a UI: the warm-up runs as they do.
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'tandem-spark-warmup-'));
  const conf = {
    [DRIVER_JAVA_OPTIONS]: `-XX:ArchiveClassesAtExit=${archive} ${QUIET}`,
    'spark.log.level': 'ERROR',
    ...sparkProgressConf(scratch),
  };
  const args = [
    '--master',
    'local[1]',
    ...Object.entries(conf).flatMap(([k, v]) => ['--conf', `${k}=${v}`]),
    path.join(PYTHON_DIR, 'spark_warmup.py'),
  ];
  const warmup = runSupervised(python, sparkSubmit(python), args, {
    cwd: scratch,
    env: { SPARK_LOCAL_IP: '127.0.0.1', ...env, PYSPARK_PYTHON: python, PYSPARK_DRIVER_PYTHON: python },
    emit: () => undefined,
  });
  const stop = () => warmup.stop(1000);
  signal?.addEventListener('abort', stop);
  if (signal?.aborted) stop();
  const timeout = setTimeout(stop, BUILD_TIMEOUT_MS);
  const result = await warmup.done.finally(async () => {
    clearTimeout(timeout);
    signal?.removeEventListener('abort', stop);
    await rm(scratch, { recursive: true, force: true });
  });
  if (result.code !== 0) {
    const how = result.signal ? `was stopped (${result.signal})` : `exited with ${result.code}`;
    throw new Error(`Spark warm-up ${how}:\n${result.errorTail}`);
  }
}

export interface PrepareOptions {
  python: string;
  cacheDir: string;
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * The Spark driver class archive for this machine, built now (about a minute of one core) when
 * missing. Undefined when it cannot be had: no Spark or Java, another process is building it
 * (the next start picks it up), or the build failed; jobs then simply start without it. Never
 * throws: what went wrong is logged.
 */
export async function prepareSparkClassArchive(options: PrepareOptions): Promise<string | undefined> {
  const log = options.log ?? (() => undefined);
  try {
    return await findOrBuild(options, log);
  } catch (error) {
    if (!options.signal?.aborted) log(`Spark jobs start without a class archive: ${(error as Error).message}`);
    return undefined;
  }
}

async function findOrBuild(
  { python, cacheDir, env = inheritedEnvironment(), signal }: PrepareOptions,
  log: (message: string) => void,
): Promise<string | undefined> {
  const file = await sparkClassArchiveFile(python, cacheDir, env);
  if (!file) return undefined;
  if (existsSync(file)) return file;
  await mkdir(cacheDir, { recursive: true });
  if (signal?.aborted) return undefined;
  const unlock = await lock(file);
  if (!unlock) {
    log('another process is building the Spark driver class archive; jobs start without it for now');
    return undefined;
  }
  const partial = `${file}.${process.pid}.partial`;
  try {
    log(`building the Spark driver class archive ${file} (first run only; about a minute)`);
    const started = Date.now();
    await runWarmup(python, partial, env, signal);
    await rename(partial, file);
    // Archives of an earlier Spark or JVM: never used again, and each is hundreds of MB.
    for (const old of await readdir(cacheDir)) {
      if (old.startsWith(FILE_PREFIX) && old.endsWith('.jsa') && path.join(cacheDir, old) !== file)
        await rm(path.join(cacheDir, old), { force: true });
    }
    log(`Spark driver class archive ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return file;
  } finally {
    await rm(partial, { force: true });
    await unlock();
  }
}
