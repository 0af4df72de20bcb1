import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJobProcess } from '../../src/worker/job-process.js';
import { sparkSubmit, venvPython } from '../../src/worker/python.js';
import { followSparkProgress, sparkProgressConf } from '../../src/worker/spark-progress.js';
import type { WorkerEvent } from '../../src/worker/worker.client.js';

/**
 * Three Spark jobs of known size: 4 slow tasks; a shuffle of 3 map and 2 reduce tasks; one task
 * that fails (the script catches the error and goes on).
 */
const SCRIPT = `
import time
from pyspark.sql import SparkSession
sc = SparkSession.builder.getOrCreate().sparkContext
print("sum", sc.parallelize(range(4), 4).map(lambda x: time.sleep(1) or x).sum(), flush=True)
print("groups", len(sc.parallelize(range(100), 3).map(lambda x: (x % 5, 1)).reduceByKey(lambda a, b: a + b, 2).collect()), flush=True)
try:
    sc.parallelize([1], 1).map(lambda x: x / 0).collect()
except Exception:
    print("the third job failed, as it should", flush=True)
`;

describe('Spark progress from the driver’s event log (real Spark, local[1])', () => {
  let dir: string;
  const progress: { fraction?: number; message: string }[] = [];
  const output: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-spark-progress-'));
    const eventLog = path.join(dir, 'spark-events');
    await mkdir(eventLog);
    await writeFile(path.join(dir, 'job.py'), SCRIPT);
    const conf = Object.entries(sparkProgressConf(eventLog)).flatMap(([k, v]) => ['--conf', `${k}=${v}`]);
    const python = venvPython();
    const emit = (event: WorkerEvent) => {
      if (event.type === 'progress') progress.push(event.data as { fraction?: number; message: string });
      if (event.type === 'log') output.push(String(event.data.line));
    };
    const follower = followSparkProgress(eventLog, emit, 100);
    const driver = runJobProcess(sparkSubmit(python), ['--master', 'local[1]', '--conf', 'spark.log.level=ERROR', ...conf, 'job.py'], {
      cwd: dir,
      env: { ...process.env, SPARK_LOCAL_IP: '127.0.0.1', PYSPARK_PYTHON: python, PYSPARK_DRIVER_PYTHON: python },
      emit,
    });
    const result = await driver.done.finally(() => follower.stop());
    if (result.code !== 0) throw new Error(`the driver failed:\n${output.join('\n')}`);
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the tasks of the jobs started so far while the driver runs, the fraction only growing and below 1', () => {
    const live = progress.slice(0, -1);
    expect(live.length).toBeGreaterThan(0);
    for (const p of live) expect(p.message).toMatch(/^Spark: \d+ jobs?, \d+\/\d+ tasks( \(running: .+\))?$/);
    expect(live.map((p) => p.message)).toContainEqual(expect.stringMatching(/^Spark: 1 job, \d\/4 tasks/));
    const fractions = live.map((p) => p.fraction!);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(Math.max(...fractions)).toBeLessThan(1);
  });

  it('ends with what ran, counting each task once and naming the job that failed', () => {
    expect(output).toContain('the third job failed, as it should');
    expect(progress.at(-1)).toEqual({ message: 'ended: 3 Spark jobs, 9/10 tasks (1 failed)' });
  });
});
