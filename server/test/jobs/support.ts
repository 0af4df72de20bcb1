import { Readable } from 'node:stream';
import { startWorker, type RunningWorker, type WorkerOptions } from '../../src/worker/agent.js';
import { WorkerClient } from '../../src/worker/worker.client.js';
import type { TestServer } from '../support/server.js';

/** A worker token owned by the admin (team workers run everyone's jobs). */
export async function workerToken(server: TestServer, token?: string): Promise<string> {
  const res = await server.api('POST', 'tokens', { token, body: { name: 'worker', kind: 'worker' } });
  if (res.status !== 201) throw new Error(`creating a worker token failed: ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

/** A registered worker driven by hand through the real worker client. */
export async function registeredWorker(
  server: TestServer,
  capabilities: ('spark' | 'gpu' | 'notebook')[] = ['gpu'],
  token?: string,
): Promise<WorkerClient> {
  const client = new WorkerClient(server.url, token ?? (await workerToken(server)));
  await client.register({ name: `w-${capabilities.join('-')}`, capabilities, gpus: [], concurrency: 1 });
  return client;
}

export const inlineJob = (script = 'print("hi")', extra: Record<string, unknown> = {}) => ({
  kind: 'gpu',
  spec: { script, gpus: 0 },
  ...extra,
});

export const bytes = (text: string) => Readable.from([Buffer.from(text)]);

/** Polls the job until `until` holds (or times out with the job's last state in the message). */
export async function waitForJob(
  server: TestServer,
  id: string,
  until: (job: any) => boolean,
  timeoutMs = 60_000,
  token?: string,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let job: any;
  while (Date.now() < deadline) {
    job = (await server.api('GET', `jobs/${id}`, { token })).body;
    if (until(job)) return job;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${id} did not reach the expected state; last: ${JSON.stringify(job)}`);
}

/** Every log line of a job, in order. */
export async function logLines(server: TestServer, id: string): Promise<string[]> {
  const { body } = await server.api('GET', `jobs/${id}/events?types=log&limit=5000`);
  return body.events.map((e: any) => e.data.line as string);
}

/** A worker agent in this process that runs GPU jobs on the CPU, two at a time, quietly. */
export function startCpuWorker(server: TestServer, token: string, options: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
  return startWorker({
    serverUrl: server.url,
    token,
    gpu: true,
    spark: false,
    allowCpu: true,
    concurrency: 2,
    log: () => undefined,
    ...options,
  });
}

/** A worker agent in this process that runs notebook jobs (dashboard refreshes), owned by the admin. */
export async function startNotebookWorker(server: TestServer, options: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
  return startCpuWorker(server, await workerToken(server), { gpu: false, notebook: true, ...options });
}
