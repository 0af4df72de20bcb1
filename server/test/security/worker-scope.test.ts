// Worker tokens drive the worker API and nothing else; workers can be limited to one team.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerClient } from '../../src/worker/worker.client.js';
import { inlineJob, workerToken } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('worker scope', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let team: { id: string };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    alice = await server.user('alice');
    bob = await server.user('bob');
    team = (await server.api('POST', 'teams', { token: alice.token, body: { name: 'ml' } })).body;
  });
  afterAll(() => server.stop());

  const submit = async (token: string, name: string) => {
    const res = await server.api('POST', 'jobs', { token, body: inlineJob('print(1)', { name }) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };

  it('a worker limited to a team claims its members’ jobs and leaves everyone else’s queued', async () => {
    const teamWorker = new WorkerClient(server.url, await workerToken(server)); // an admin's: would run anyone's
    await teamWorker.register({ name: 'ml-gpu', capabilities: ['gpu'], team: 'ml' });
    const bobs = await submit(bob.token, 'bob’s');
    const alices = await submit(alice.token, 'alice’s');
    const claimed = await teamWorker.claim(30_000, 0);
    expect(claimed?.id).toBe(alices);
    expect(await teamWorker.claim(30_000, 0)).toBeUndefined();
    expect((await server.api('GET', `jobs/${bobs}`, { token: bob.token })).body.status).toBe('queued');
    await teamWorker.complete(claimed!, { status: 'succeeded' });
    await server.api('POST', `jobs/${bobs}/cancel`, { token: bob.token });
  });

  it('only a member registers a worker for a team; to others the team does not exist', async () => {
    const bobsWorker = new WorkerClient(server.url, await workerToken(server, bob.token));
    await expect(bobsWorker.register({ name: 'sneaky', capabilities: ['gpu'], team: 'ml' })).rejects.toMatchObject({
      status: 404,
      message: expect.stringMatching(/team ml not found/),
    });
    const alicesWorker = new WorkerClient(server.url, await workerToken(server, alice.token));
    await alicesWorker.register({ name: 'alice-ml', capabilities: ['gpu'], team: 'ml' });
    expect(team.id).toEqual(expect.any(String));
  });

  it('a revoked worker token registers no worker, for a team or not, and claims nothing', async () => {
    const token = await workerToken(server, alice.token);
    const list = (await server.api('GET', 'tokens', { token: alice.token })).body.tokens as { id: string; kind: string }[];
    const revoked = list.find((t) => t.kind === 'worker')!;
    expect((await server.api('DELETE', `tokens/${revoked.id}`, { token: alice.token })).status).toBe(204);
    const worker = new WorkerClient(server.url, token);
    for (const team of ['ml', undefined]) {
      await expect(worker.register({ name: 'revoked', capabilities: ['gpu'], team })).rejects.toMatchObject({ status: 401 });
    }
    await expect(worker.claim(30_000, 0)).rejects.toMatchObject({ status: 401 });
  });

  it('worker tokens are refused outside the worker API: people’s routes, admin routes and dashboard pages', async () => {
    const token = await workerToken(server);
    for (const path of ['me', 'models', 'jobs', 'notebooks', 'dashboards', 'tokens', `users/${alice.id}/tokens`, 'workers']) {
      const res = await server.api('GET', path, { token });
      expect(res.status, path).toBe(403);
    }
    await server.api('POST', 'dashboards', { body: { slug: 'ops', title: 'Ops', notebook: { cells: [] } } });
    for (const page of ['/tandem/d/ops', '/tandem/d/ops/state']) {
      const res = await fetch(`${server.url}${page}?token=${token}`);
      expect(res.status, page).toBe(403);
      expect(await res.text()).not.toContain('Ops</');
    }
  });
});
