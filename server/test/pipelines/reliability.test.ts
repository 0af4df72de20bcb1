import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredWorker, workerToken } from '../jobs/support.js';
import { envWithoutTandem, listeningUrl, spawnTandem } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { define, startRun, stepOf, waitForRun, webhookReceiver } from './support.js';

/** `tandem serve` as its own process on the database of `server`, so that a test can kill -9 it. */
async function serveOnSameDatabase(server: TestServer, home: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnTandem(['serve'], {
    ...envWithoutTandem(),
    TANDEM_HOME: home,
    TANDEM_PORT: '0',
    TANDEM_LOG_LEVEL: 'warn',
    TANDEM_DATABASE_URL: server.ctx.config.databaseUrl!,
    TANDEM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
  });
  return { url: await listeningUrl(child, /Tandem server at (http:\/\/\S+)/, 'tandem serve'), child };
}

describe('pipeline runs survive a dying server or worker', () => {
  let server: TestServer;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let home: string;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres', env: { TANDEM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
    hook = await webhookReceiver();
    home = await mkdtemp(path.join(os.tmpdir(), 'tandem-second-'));
  });
  afterAll(async () => {
    await hook?.close();
    await server?.stop();
    await rm(home, { recursive: true, force: true });
  });

  const chain = (name: string) =>
    define(server, {
      name,
      steps: [
        { id: 'train', kind: 'gpu', spec: { script: 'print(1)', gpus: 0 } },
        { id: 'tell', kind: 'webhook', needs: ['train'], url: hook.url, body: { text: `${name} done` } },
      ],
    });
  const told = (name: string) => hook.received.filter((r) => r.body?.text === `${name} done`).length;

  it('kill -9 of the server that started a run: the other server finishes it, and no step runs twice', async () => {
    const other = await serveOnSameDatabase(server, home);
    try {
      const worker = await registeredWorker(server, ['gpu'], await workerToken(server));
      const pipeline = await chain('survives-kill');
      const started = await fetch(`${other.url}/tandem/api/pipelines/${pipeline.id}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: '{}',
      }).then((r) => r.json() as Promise<{ id: string }>);
      await waitForRun(server, started.id, (r) => stepOf(r, 'train').status === 'running');
      other.child.kill('SIGKILL');
      const job = await worker.claim(60_000, 10_000);
      await worker.complete(job!, { status: 'succeeded', metrics: { accuracy: 0.9 } });
      const done = await waitForRun(server, started.id, undefined, 60_000);
      expect(done.status).toBe('succeeded');
      expect(stepOf(done, 'train')).toMatchObject({ attempt: 1, jobId: job!.id });
      expect(told('survives-kill')).toBe(1);
      const jobs = (await server.api('GET', 'jobs?limit=200&q=survives-kill')).body.jobs as unknown[];
      expect(jobs).toHaveLength(1);
    } finally {
      other.child.kill('SIGKILL');
    }
  }, 180_000);

  it('a worker that dies mid-step: the job is claimed again after its lease and the run goes on', async () => {
    const dying = await registeredWorker(server, ['gpu'], await workerToken(server));
    const pipeline = await chain('worker-dies');
    const run = await startRun(server, pipeline.id);
    const lost = await dying.claim(1000, 10_000);
    expect(lost).toBeDefined();
    // The worker never heartbeats again; the reaper queues the job once its lease expired.
    const survivor = await registeredWorker(server, ['gpu'], await workerToken(server));
    const again = await survivor.claim(60_000, 20_000);
    expect(again).toMatchObject({ id: lost!.id, attempt: 2 });
    await survivor.complete(again!, { status: 'succeeded' });
    const done = await waitForRun(server, run.id);
    expect(done.status).toBe('succeeded');
    expect(stepOf(done, 'train')).toMatchObject({ attempt: 1, jobId: lost!.id });
    expect(told('worker-dies')).toBe(1);
  }, 60_000);
});
