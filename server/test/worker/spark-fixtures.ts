import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { venvPython } from '../../src/worker/python.js';

/**
 * A small, deterministic binary classification table: churn depends on usage and tenure with
 * some label noise, so models learn something but not everything.
 */
export async function writeChurnCsv(dir: string, rows = 600): Promise<string> {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lines = ['usage,tenure,plan,churned'];
  for (let i = 0; i < rows; i++) {
    const usage = random() * 100;
    const tenure = random() * 60;
    const noisy = random() < 0.1;
    const churned = (usage < 40 && tenure < 30) !== noisy ? 1 : 0;
    lines.push(`${usage.toFixed(2)},${tenure.toFixed(1)},${random() < 0.5 ? 'basic' : 'pro'},${churned}`);
  }
  const file = path.join(dir, 'churn.csv');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

export interface SparkCluster {
  master: string;
  stop(): void;
}

/**
 * A real standalone Spark cluster (one master, one worker with 1 core). Every port is chosen by
 * Spark itself (0) and read back from the master's log: ports picked beforehand could be taken by
 * another suite's Spark before the JVM binds them, and Spark then silently moves to the next one.
 */
export async function startStandaloneSpark(): Promise<SparkCluster> {
  const sparkClass = path.join(path.dirname(venvPython()), 'spark-class');
  // spark-class finds SPARK_HOME through a Python that has pyspark.
  const env = { ...process.env, SPARK_NO_DAEMONIZE: '1', SPARK_LOCAL_IP: '127.0.0.1', PYSPARK_PYTHON: venvPython() };
  const processes: ChildProcess[] = [];
  const start = (args: string[], log: 'pipe' | 'ignore'): ChildProcess => {
    const child = spawn(sparkClass, args, { env, stdio: ['ignore', 'ignore', log], detached: true });
    processes.push(child);
    return child;
  };
  const stop = () => {
    for (const p of processes) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  try {
    const { master, ui } = await announced(
      start(['org.apache.spark.deploy.master.Master', '--host', '127.0.0.1', '--port', '0', '--webui-port', '0'], 'pipe'),
      { master: /Starting Spark master at (spark:\/\/\S+)/, ui: /Bound MasterWebUI to .*started at (http:\/\/\S+)/ },
    );
    start(
      ['org.apache.spark.deploy.worker.Worker', master, '--host', '127.0.0.1', '--cores', '1', '--memory', '1g', '--webui-port', '0'],
      'ignore',
    );
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const state = (await fetch(`${ui}/json/`)
        .then((r) => r.json())
        .catch(() => undefined)) as { aliveworkers?: number } | undefined;
      if (state?.aliveworkers && state.aliveworkers > 0) return { master, stop };
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the standalone Spark cluster at ${master} did not get a worker within 60 s`);
  } catch (error) {
    stop();
    throw error;
  }
}

/** Resolves with the first capture of each pattern in the process's log (stderr), within 60 s. */
function announced<K extends string>(child: ChildProcess, patterns: Record<K, RegExp>): Promise<Record<K, string>> {
  return new Promise((resolve, reject) => {
    const found: Partial<Record<K, string>> = {};
    const keys = Object.keys(patterns) as K[];
    const timer = setTimeout(
      () => reject(new Error(`Spark did not report ${keys.filter((k) => !found[k]).join(', ')} within 60 s`)),
      60_000,
    );
    createInterface({ input: child.stderr! }).on('line', (line) => {
      for (const key of keys) found[key] ??= patterns[key].exec(line)?.[1];
      if (keys.every((k) => found[k])) {
        clearTimeout(timer);
        resolve(found as Record<K, string>);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`spark-class exited with ${code} before it was ready`));
    });
  });
}
