import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerClient } from '../../src/worker/worker.client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { inlineJob, workerToken } from './support.js';

describe('claiming on PostgreSQL', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
  });
  afterAll(() => server.stop());

  it('hands each of 60 jobs to exactly one of 12 workers claiming at the same time', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 60; i++) ids.add((await server.api('POST', 'jobs', { body: inlineJob(`print(${i})`) })).body.id);
    const token = await workerToken(server);
    const workers = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const client = new WorkerClient(server.url, token);
        await client.register({ name: `w${i}`, capabilities: ['gpu'], gpus: [], concurrency: 1 });
        return client;
      }),
    );
    const claimed: string[] = [];
    await Promise.all(
      workers.map(async (w) => {
        for (let job = await w.claim(60_000, 0); job; job = await w.claim(60_000, 0)) claimed.push(job.id);
      }),
    );
    expect(claimed).toHaveLength(60);
    expect(new Set(claimed)).toEqual(ids);
    const { body } = await server.api('GET', 'jobs?status=running&limit=200');
    expect(body.total).toBe(60);
  });
});
