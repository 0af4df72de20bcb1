import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobCommand } from '../../src/worker/job-command.js';
import { runJobProcess } from '../../src/worker/job-process.js';
import { pythonInstallPaths, venvPython } from '../../src/worker/python.js';
import { createSandbox } from '../../src/worker/sandbox.js';
import { defaultCacheDir, prepareSparkClassArchive, sparkClassArchiveFile } from '../../src/worker/spark-class-archive.js';

/** Command lines of running processes that mention `text`. */
async function commandLinesContaining(text: string): Promise<string[]> {
  const lines = await Promise.all(
    (await readdir('/proc')).filter((p) => /^\d+$/.test(p)).map((p) => readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')),
  );
  return lines.filter((l) => l.includes(text));
}

/** Prints whether the driver JVM (the Python driver's parent) has the archive given as argv[1] mapped. */
const MAPPED_SCRIPT = `
import os, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("archive mapped:", sys.argv[1] in open(f"/proc/{os.getppid()}/maps").read())
spark.stop()
`;

describe('Spark driver class archive', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-class-archive-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A SPARK_HOME with the given jar files, and no Spark to run. */
  const fakeSparkHome = async (name: string, jars: string[]) => {
    const home = path.join(dir, name);
    await mkdir(path.join(home, 'jars'), { recursive: true });
    for (const jar of jars) await writeFile(path.join(home, 'jars', jar), jar);
    return home;
  };

  it("sparkClassArchiveFile() names a new archive when Spark's jars or the JVM change", async () => {
    const cache = path.join(dir, 'naming');
    const home = await fakeSparkHome('naming-spark', ['spark-core.jar']);
    const env = { ...process.env, SPARK_HOME: home };
    const first = await sparkClassArchiveFile(venvPython(), cache, env);
    expect(first).toMatch(new RegExp(`^${cache}/spark-driver-[0-9a-f]{16}\\.jsa$`));
    expect(await sparkClassArchiveFile(venvPython(), cache, env)).toBe(first);

    await writeFile(path.join(home, 'jars', 'spark-sql.jar'), 'upgrade');
    const upgraded = await sparkClassArchiveFile(venvPython(), cache, env);
    expect(upgraded).not.toBe(first);
    expect(await sparkClassArchiveFile(venvPython(), cache, { ...env, JAVA_HOME: '/opt/other-jdk' })).not.toBe(upgraded);
  });

  it('sparkClassArchiveFile() gives none without Spark jars', async () => {
    expect(await sparkClassArchiveFile(venvPython(), dir, { ...process.env, SPARK_HOME: path.join(dir, 'no-spark') })).toBeUndefined();
  });

  it('prepareSparkClassArchive() leaves the build to a live process that holds the lock', async () => {
    const cacheDir = path.join(dir, 'locked');
    const env = { ...process.env, SPARK_HOME: await fakeSparkHome('locked-spark', ['a.jar']) };
    const file = (await sparkClassArchiveFile(venvPython(), cacheDir, env))!;
    await mkdir(cacheDir, { recursive: true });
    await writeFile(`${file}.lock`, String(process.pid));
    const messages: string[] = [];
    expect(await prepareSparkClassArchive({ python: venvPython(), cacheDir, env, log: (m) => messages.push(m) })).toBeUndefined();
    expect(messages).toEqual(['another process is building the Spark driver class archive; jobs start without it for now']);
    expect(existsSync(`${file}.lock`)).toBe(true);
  });

  it("prepareSparkClassArchive() takes over a dead builder's lock, and a failed build leaves nothing behind", async () => {
    const cacheDir = path.join(dir, 'stale');
    const env = { ...process.env, SPARK_HOME: await fakeSparkHome('stale-spark', ['a.jar']) };
    const file = (await sparkClassArchiveFile(venvPython(), cacheDir, env))!;
    await mkdir(cacheDir, { recursive: true });
    await writeFile(`${file}.lock`, '999999999'); // no such process
    const messages: string[] = [];
    // The fake SPARK_HOME has no Spark to start, so the warm-up fails.
    expect(await prepareSparkClassArchive({ python: venvPython(), cacheDir, env, log: (m) => messages.push(m) })).toBeUndefined();
    expect(messages[0]).toMatch(/^building the Spark driver class archive/);
    expect(messages[1]).toMatch(/^Spark jobs start without a class archive: Spark warm-up exited with \d+/);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('prepareSparkClassArchive() stops a running build when aborted, leaving no process or file behind', async () => {
    const cacheDir = path.join(dir, 'aborted');
    const abort = new AbortController();
    const messages: string[] = [];
    const building = prepareSparkClassArchive({ python: venvPython(), cacheDir, log: (m) => messages.push(m), signal: abort.signal });
    await expect.poll(() => messages.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(messages[0]).toMatch(/^building the Spark driver class archive/);
    await expect.poll(() => commandLinesContaining(cacheDir), { timeout: 10_000 }).not.toEqual([]);
    const stopped = Date.now();
    abort.abort();
    expect(await building).toBeUndefined();
    // What matters is that the build was cut short: a whole one takes a minute or more here.
    expect(Date.now() - stopped).toBeLessThan(30_000);
    expect(await readdir(cacheDir)).toEqual([]);
    expect(await commandLinesContaining(cacheDir)).toEqual([]);
  });

  it('prepareSparkClassArchive() does not start a build once aborted', async () => {
    const cacheDir = path.join(dir, 'aborted-early');
    const messages: string[] = [];
    expect(
      await prepareSparkClassArchive({ python: venvPython(), cacheDir, log: (m) => messages.push(m), signal: AbortSignal.abort() }),
    ).toBeUndefined();
    expect(messages).toEqual([]);
  });

  it('a Spark job driver starts from the archive, and runs without complaint from a damaged one', async () => {
    const archive = await prepareSparkClassArchive({ python: venvPython(), cacheDir: defaultCacheDir() });
    expect(archive, 'the archive could not be built').toBeDefined();
    const damaged = path.join(dir, 'damaged.jsa');
    await writeFile(damaged, 'not an archive');

    // Jobs run in the worker's sandbox, which mounts the archive read-only.
    const sandbox = createSandbox();
    const run = async (sparkClassArchive: string) => {
      const jobDir = await mkdtemp(path.join(dir, 'job-'));
      const job = {
        id: path.basename(jobDir),
        kind: 'spark' as const,
        name: 'maps',
        attempt: 1,
        maxAttempts: 1,
        spec: { script: MAPPED_SCRIPT, args: [sparkClassArchive] },
        token: 'no-server-here',
      };
      const python = venvPython();
      const runtime = {
        python,
        serverUrl: 'http://127.0.0.1:9',
        sparkMaster: 'local[1]',
        sparkClassArchive,
        sandbox,
        pythonPaths: pythonInstallPaths(python),
        sharedDirs: [],
      };
      const command = await jobCommand(job, jobDir, jobDir, runtime, []);
      await Promise.all(['home', 'tmp'].map((sub) => mkdir(path.join(jobDir, sub))));
      await sandbox.prepare(jobDir);
      const lines: string[] = [];
      const result = await runJobProcess(command.command, command.args, {
        cwd: jobDir,
        env: command.env,
        emit: (e) => lines.push(String(e.data.line)),
      }).done;
      return { code: result.code, lines };
    };
    const [good, bad] = await Promise.all([run(archive!), run(damaged)]);
    expect(good.code, good.lines.join('\n')).toBe(0);
    expect(good.lines).toContain('archive mapped: True');
    expect(bad.code, bad.lines.join('\n')).toBe(0);
    expect(bad.lines).toContain('archive mapped: False');
    expect(bad.lines.filter((l) => /cds|shared archive/i.test(l))).toEqual([]);
  }, 240_000);
});
