import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../../src/worker/agent.js';
import { venvPython } from '../../src/worker/python.js';
import { logLines, waitForJob, workerToken } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { writeChurnCsv } from './spark-fixtures.js';

const finished = (j: { status: string }) => !['queued', 'running'].includes(j.status);

/** A Python with torch: TANDEM_TORCH_PYTHON, else the job venv when it has torch (PyPI's torch is ~3 GB with its CUDA libraries). */
function torchPython(): string | undefined {
  for (const candidate of [process.env.TANDEM_TORCH_PYTHON, venvPython()].filter((p): p is string => Boolean(p))) {
    try {
      execFileSync(candidate, ['-c', 'import torch, onnx'], { stdio: 'ignore', timeout: 60_000 });
      return candidate;
    } catch {
      // no torch here
    }
  }
  return undefined;
}

describe('GPU jobs get their own devices', () => {
  let server: TestServer;
  let worker: RunningWorker;

  beforeAll(async () => {
    server = await startTestServer();
    // Two devices as nvidia-smi would list them: the pool, not the hardware, is under test here.
    const gpus = [0, 1].map((index) => ({ index, name: 'Test GPU', memoryMiB: 16_000 }));
    worker = await startWorker({
      serverUrl: server.url,
      token: await workerToken(server),
      gpu: true,
      spark: false,
      gpus,
      concurrency: 2,
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
  });

  const script = 'import os, time\nprint("devices=" + os.environ["CUDA_VISIBLE_DEVICES"], flush=True)\ntime.sleep(1)\n';
  const run = async (gpus: number) =>
    (await server.api('POST', 'jobs', { body: { kind: 'gpu', spec: { script, gpus } } })).body.id as string;

  it('assigns distinct CUDA_VISIBLE_DEVICES to concurrent jobs and all devices to a 2-GPU job', async () => {
    const ids = [await run(1), await run(1), await run(2)];
    const devices = [];
    for (const id of ids) {
      const job = await waitForJob(server, id, finished);
      expect(job.status, job.error).toBe('succeeded');
      devices.push((await logLines(server, id)).find((l) => l.startsWith('devices='))!.slice(8));
    }
    expect(devices.slice(0, 2).sort()).toEqual(['0', '1']);
    expect(devices[2]).toBe('0,1');
  });

  it('fails a job that needs more GPUs than the worker has, saying so', async () => {
    const job = await waitForJob(server, await run(4), finished);
    expect(job).toMatchObject({ status: 'failed', error: 'worker error: job needs 4 GPUs; this worker has 2' });
  });
});

const python = torchPython();

describe.skipIf(!python)(`PyTorch tabular-mlp template (${python ?? 'skipped: no Python with torch; set TANDEM_TORCH_PYTHON'})`, () => {
  let server: TestServer;
  let worker: RunningWorker;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-gpu-'));
    await chmod(dir, 0o755); // jobs run as an unprivileged user, who reads shared folders like anyone
    server = await startTestServer();
    worker = await startWorker({
      serverUrl: server.url,
      token: await workerToken(server),
      gpu: true,
      spark: false,
      allowCpu: true,
      python,
      // The CSV is a file of the worker's machine, which its sandboxed jobs may read only when shared.
      shareDirs: [dir],
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('trains on the CPU with per-epoch metrics, exports ONNX + state dict and registers the version', async () => {
    const data = await writeChurnCsv(dir, 500);
    const res = await server.api('POST', 'jobs', {
      body: {
        kind: 'gpu',
        spec: {
          template: 'tabular-mlp',
          inputs: { data, label: 'churned', features: ['usage', 'tenure'], epochs: 8, learningRate: 0.01, hidden: [16] },
        },
        register: { model: 'churn-mlp' },
      },
    });
    const job = await waitForJob(server, res.body.id, finished, 180_000);
    expect(job.status, job.error).toBe('succeeded');
    expect(job.result).toEqual({ model: 'churn-mlp', version: 1 });
    expect(job.metrics.val_accuracy).toBeGreaterThan(0.7);
    const { body } = await server.api('GET', `jobs/${job.id}/events?types=metric`);
    expect(body.events.map((e: any) => e.data.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await logLines(server, job.id)).toContain('device: cpu');
    const version = (await server.api('GET', 'models/churn-mlp/versions/1')).body;
    expect(version.files.map((f: any) => f.path).sort()).toEqual(['model.onnx', 'model.pt', 'model_info.json']);
    expect(version.lineage).toMatchObject({ jobId: job.id, source: 'gpu:tabular-mlp' });
  }, 200_000);
});
