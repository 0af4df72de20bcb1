import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../src/worker/agent.js';
import { logLines, startCpuWorker, waitForJob, workerToken } from '../jobs/support.js';
import { spawnTandem } from '../support/cli.js';
import { isRunning } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SCRIPT = `
import os, time, tandem_job as tj
for step in range(3):
    tj.metric(step=step, loss=1.0 / (step + 1))
    tj.progress(fraction=(step + 1) / 3, message=f"step {step}")
    print(f"line {step}", flush=True)
with open(os.path.join(tj.output_dir(), "result.txt"), "w") as f:
    f.write("done")
print("CUDA_VISIBLE_DEVICES=" + repr(os.environ.get("CUDA_VISIBLE_DEVICES")))
`;

describe('worker agent', () => {
  let server: TestServer;
  let worker: RunningWorker;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer();
    token = await workerToken(server);
    worker = await startCpuWorker(server, token, { leaseMs: 3000 });
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
  });

  const submit = async (body: Record<string, unknown>) => {
    const res = await server.api('POST', 'jobs', { body: { kind: 'gpu', ...body } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };

  it('runs a script: streams logs, metrics and progress, uploads outputs, succeeds', async () => {
    const id = await submit({ spec: { script: SCRIPT, gpus: 0 } });
    const job = await waitForJob(server, id, (j) => j.status !== 'queued' && j.status !== 'running');
    expect(job).toMatchObject({ status: 'succeeded', progress: 1, metrics: { loss: 1 / 3 } });
    const lines = await logLines(server, id);
    expect(lines).toEqual(expect.arrayContaining(['line 0', 'line 1', 'line 2', "CUDA_VISIBLE_DEVICES=''", 'uploaded output result.txt']));
    const { body } = await server.api('GET', `jobs/${id}/events?types=metric,progress`);
    expect(body.events.filter((e: any) => e.type === 'metric').map((e: any) => e.data.step)).toEqual([0, 1, 2]);
    expect(body.events.filter((e: any) => e.type === 'progress').map((e: any) => e.data.message)).toEqual(['step 0', 'step 1', 'step 2']);
    expect((await server.api('GET', `jobs/${id}/outputs`)).body.outputs).toEqual([
      { path: 'result.txt', size: 4, sha256: expect.any(String) },
    ]);
  });

  it('fails a broken script with the Python traceback as the error', async () => {
    const id = await submit({ spec: { script: 'import json\njson.loads("{oops")\n', gpus: 0 } });
    const job = await waitForJob(server, id, (j) => j.status === 'failed');
    expect(job.error).toMatch(
      /exited with code 1:\nTraceback \(most recent call last\):[\s\S]*json\.decoder\.JSONDecodeError: Expecting property name/,
    );
    expect(job.attempt).toBe(1);
  });

  it('cancels a running job: the process group is stopped and the job is cancelled', async () => {
    const id = await submit({ spec: { script: 'import time\nprint("started", flush=True)\ntime.sleep(600)\n', gpus: 0 } });
    await waitForJob(server, id, (j) => j.status === 'running');
    await expect.poll(async () => logLines(server, id), { timeout: 20_000 }).toContain('started');
    await server.api('POST', `jobs/${id}/cancel`);
    const job = await waitForJob(server, id, (j) => j.status === 'cancelled', 20_000);
    expect(job.error).toBe('cancelled while running');
  });

  it('runs two jobs at once with concurrency 2', async () => {
    // Each job checks in and waits until the other has too: run one at a time, the first would give up and fail.
    const arrived = new Set<string>();
    const waiting: ServerResponse[] = [];
    const meeting = http.createServer((req, res) => {
      arrived.add(req.url!);
      waiting.push(res);
      if (arrived.size === 2) for (const r of waiting.splice(0)) r.end('met');
    });
    await new Promise<void>((resolve) => meeting.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(meeting.address() as AddressInfo).port}`;
    const job = (me: string) => `
import time, urllib.request
urllib.request.urlopen("${url}/${me}", timeout=45).read()
time.sleep(0.5)
`;
    try {
      const ids = [await submit({ spec: { script: job('first'), gpus: 0 } }), await submit({ spec: { script: job('second'), gpus: 0 } })];
      const done = [];
      for (const id of ids) done.push(await waitForJob(server, id, (j) => j.status !== 'queued' && j.status !== 'running', 90_000));
      expect(done.map((j) => [j.status, j.error])).toEqual([
        ['succeeded', null],
        ['succeeded', null],
      ]);
      // Their running intervals, as the server recorded them, overlap.
      const intervals = [];
      for (const id of ids) {
        const { body } = await server.api('GET', `jobs/${id}/events?types=state`);
        const at = (status: string) => Date.parse(body.events.find((e: any) => e.data.status === status).at);
        intervals.push({ start: at('running'), end: at('succeeded') });
      }
      expect(Math.max(...intervals.map((i) => i.start))).toBeLessThan(Math.min(...intervals.map((i) => i.end)));
    } finally {
      meeting.closeAllConnections();
      await new Promise((resolve) => meeting.close(resolve));
    }
  }, 120_000);
});

/** The processes of a job's attempt on this machine, by their TANDEM_JOB_ID and TANDEM_JOB_ATTEMPT. */
function jobProcesses(jobId: string, attempt: number): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const env = readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
        return env.includes(`TANDEM_JOB_ID=${jobId}`) && env.includes(`TANDEM_JOB_ATTEMPT=${attempt}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('a worker killed with SIGKILL mid-job', () => {
  let server: TestServer;
  let token: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    token = await workerToken(server);
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await server?.stop();
  });

  /** `tandem worker` as its own process, the way operators run it. */
  const spawnWorker = () => {
    const child = spawnTandem(
      ['worker', '--gpu', '--allow-cpu', '--lease-ms', '2000', '--server', server.url],
      { ...process.env, TANDEM_WORKER_TOKEN: token },
      ['ignore', 'ignore', 'pipe'],
    );
    children.push(child);
    return child;
  };

  it('takes its running job down with it; the lease expires and a restarted worker runs the job again to the end', async () => {
    const script = `
import os, time, tandem_job as tj
attempt = os.environ["TANDEM_JOB_ATTEMPT"]
print("attempt " + attempt, flush=True)
time.sleep(30 if attempt == "1" else 0.1)
open(os.path.join(tj.output_dir(), "out.txt"), "w").write("attempt " + attempt)
`;
    const res = await server.api('POST', 'jobs', { body: { kind: 'gpu', spec: { script, gpus: 0 } } });
    const id = res.body.id as string;
    const first = spawnWorker();
    await waitForJob(server, id, (j) => j.status === 'running', 60_000);
    await expect.poll(async () => logLines(server, id), { timeout: 30_000 }).toContain('attempt 1');
    // Jobs run in a PID namespace of their own: the attempt's processes are found by their environment.
    const orphans = jobProcesses(id, 1);
    expect(orphans.length).toBeGreaterThan(0);
    first.kill('SIGKILL');
    // No orphan: the first attempt's Python stops although nobody could signal it.
    await expect.poll(() => orphans.filter(isRunning), { timeout: 15_000 }).toEqual([]);
    spawnWorker();
    const job = await waitForJob(server, id, (j) => j.status === 'succeeded', 60_000);
    expect(job.attempt).toBe(2);
    const lines = await logLines(server, id);
    expect(lines).toEqual(
      expect.arrayContaining([
        'attempt 1',
        expect.stringMatching(/worker lost \(lease expired\) during attempt 1 of 3: retrying/),
        'attempt 2',
      ]),
    );
    const out = await fetch(`${server.url}/tandem/api/jobs/${id}/outputs/out.txt`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(await out.text()).toBe('attempt 2');
  }, 120_000);
});
