import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { followSparkProgress, JOB_PROPERTY } from '../../src/worker/spark-progress.js';
import type { WorkerEvent } from '../../src/worker/worker.client.js';

/** A Spark driver UI's REST API for one application of `jobId` with the given task counts; records each request's Accept-Encoding. */
function sparkUi(jobId: string, tasks: { done: number; total: number }, encodings: (string | undefined)[] = []) {
  return createServer((req, res) => {
    encodings.push(req.headers['accept-encoding']);
    const answer = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/api/v1/applications') answer([{ id: `app-${jobId}` }]);
    else if (req.url === `/api/v1/applications/app-${jobId}/environment`) answer({ sparkProperties: [[JOB_PROPERTY, jobId]] });
    else if (req.url === `/api/v1/applications/app-${jobId}/jobs`)
      answer([
        {
          jobId: 0,
          status: 'RUNNING',
          numTasks: tasks.total,
          numCompletedTasks: tasks.done,
          numSkippedTasks: 0,
          numActiveStages: 1,
          name: `count at ${jobId}.py`,
        },
      ]);
    else res.writeHead(404).end();
  });
}

const listen = (server: Server, port = 0) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

describe('followSparkProgress()', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('reports the progress of its own job’s application even when Spark moved the UI to the next port', async () => {
    // Another application holds the chosen port; ours went one up, as Spark does.
    const decoy = sparkUi('someone-else', { done: 9, total: 10 });
    servers.push(decoy);
    let chosen = await listen(decoy);
    const ours = sparkUi('job-1', { done: 1, total: 4 });
    servers.push(ours);
    for (let attempt = 0; ; attempt++) {
      try {
        await listen(ours, chosen + 1);
        break;
      } catch (error) {
        if (attempt === 5) throw error;
        await new Promise((resolve) => decoy.close(resolve));
        chosen = await listen(decoy);
      }
    }
    const events: WorkerEvent[] = [];
    const stop = followSparkProgress(chosen, 'job-1', (e) => events.push(e), 50);
    try {
      await expect.poll(() => events.length, { timeout: 5_000 }).toBeGreaterThan(0);
    } finally {
      stop();
    }
    expect(events[0]).toEqual({
      type: 'progress',
      data: { fraction: 0.25, message: 'Spark: 1 job, 1/4 tasks (running: count at job-1.py)' },
    });
  });

  it('asks for uncompressed answers, which Spark 4 does not fail while its UI starts or stops', async () => {
    const encodings: (string | undefined)[] = [];
    const ui = sparkUi('job-2', { done: 2, total: 2 }, encodings);
    servers.push(ui);
    const events: WorkerEvent[] = [];
    const stop = followSparkProgress(await listen(ui), 'job-2', (e) => events.push(e), 50);
    try {
      await expect.poll(() => events.length, { timeout: 5_000 }).toBeGreaterThan(0);
    } finally {
      stop();
    }
    expect(new Set(encodings)).toEqual(new Set(['identity']));
  });
});
