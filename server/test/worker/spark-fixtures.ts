import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../src/worker/job-command.js';
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

/** A real standalone Spark cluster (one master, one worker with 1 core) on free ports. */
export async function startStandaloneSpark(): Promise<SparkCluster> {
  const sparkClass = path.join(path.dirname(venvPython()), 'spark-class');
  const [port, ui, workerUi] = [await freePort(), await freePort(), await freePort()];
  const master = `spark://127.0.0.1:${port}`;
  // spark-class finds SPARK_HOME through a Python that has pyspark.
  const env = { ...process.env, SPARK_NO_DAEMONIZE: '1', SPARK_LOCAL_IP: '127.0.0.1', PYSPARK_PYTHON: venvPython() };
  const start = (args: string[]): ChildProcess => spawn(sparkClass, args, { env, stdio: 'ignore', detached: true });
  const processes = [
    start(['org.apache.spark.deploy.master.Master', '--host', '127.0.0.1', '--port', String(port), '--webui-port', String(ui)]),
    start([
      'org.apache.spark.deploy.worker.Worker',
      master,
      '--host',
      '127.0.0.1',
      '--cores',
      '1',
      '--memory',
      '1g',
      '--webui-port',
      String(workerUi),
    ]),
  ];
  const stop = () => {
    for (const p of processes) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const state = await fetch(`http://127.0.0.1:${ui}/json/`).then(
      (r) => r.json() as Promise<{ aliveworkers?: number }>,
      () => undefined,
    );
    if (state?.aliveworkers && state.aliveworkers > 0) return { master, stop };
    await new Promise((r) => setTimeout(r, 250));
  }
  stop();
  throw new Error(`the standalone Spark cluster at ${master} did not get a worker within 60 s`);
}
