// Revoking a token, deactivating a user or removing a team member takes effect at once: on the
// next request and on sockets already open, on this server and on another of the same database.
import type WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closed, createNotebook, rawSocket, share } from '../collab/support.js';
import type { AuthChange } from '../../src/auth/auth.store.js';
import { hashToken } from '../../src/auth/tokens.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('revocation reaches open sockets and other servers at once', () => {
  let a: TestServer;
  let b: TestServer;
  const sockets: WebSocket[] = [];
  const open = async (server: TestServer, id: string, token: string) => {
    const ws = await rawSocket(server.url, id, token);
    sockets.push(ws);
    return ws;
  };

  beforeAll(async () => {
    a = await startTestServer({ db: 'postgres' });
    // A second server process on the same database, as behind a load balancer.
    b = await startTestServer({ db: 'postgres', env: { TANDEM_DATABASE_URL: a.ctx.config.databaseUrl! } });
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await b?.stop();
    await a?.stop();
  });

  const token = async (server: TestServer, owner: string) => {
    const res = await server.api('POST', 'tokens', { token: owner, body: { name: 'laptop' } });
    expect(res.status).toBe(201);
    return res.body as { id: string; token: string };
  };

  it('a token revoked on one server is refused by the other on the very next request', async () => {
    const alice = await a.user('alice');
    const laptop = await token(a, alice.token);
    expect((await b.api('GET', 'me', { token: laptop.token })).status).toBe(200); // now cached on b
    expect((await a.api('DELETE', `tokens/${laptop.id}`, { token: alice.token })).status).toBe(204);
    await expect.poll(async () => (await b.api('GET', 'me', { token: laptop.token })).status, { timeout: 2_000, interval: 20 }).toBe(401);
    expect((await b.api('GET', 'me', { token: alice.token })).status).toBe(200);
  });

  it('revoking a token closes the sockets opened with it, on both servers, and leaves the others open', async () => {
    const bob = await a.user('bob');
    const laptop = await token(a, bob.token);
    const id = await createNotebook(a, 'revoked.ipynb', undefined, bob.token);
    const onA = await open(a, id, laptop.token);
    const onB = await open(b, id, laptop.token);
    const other = await open(b, id, bob.token);
    const closedA = closed(onA);
    const closedB = closed(onB);
    expect((await a.api('DELETE', `tokens/${laptop.id}`, { token: bob.token })).status).toBe(204);
    expect(await closedA).toEqual({ code: 4401, reason: expect.stringMatching(/revoked/) });
    expect(await closedB).toEqual({ code: 4401, reason: expect.stringMatching(/revoked/) });
    expect(other.readyState).toBe(other.OPEN);
  });

  it('revoking a token drops only that token, here and on the other server: nobody else is re-checked', async () => {
    const dave = await a.user('dave');
    const laptop = await token(a, dave.token);
    const revisions = [a.ctx.auth.revision, b.ctx.auth.revision];
    const heard: AuthChange[] = [];
    const stop = b.ctx.auth.onChange((change) => heard.push(change));
    try {
      expect((await a.api('DELETE', `tokens/${laptop.id}`, { token: dave.token })).status).toBe(204);
      await expect.poll(() => heard).toEqual([{ kind: 'tokens', hashes: [hashToken(laptop.token)] }]);
    } finally {
      stop();
    }
    expect([a.ctx.auth.revision, b.ctx.auth.revision]).toEqual(revisions);
  });

  it('deactivating a user closes their sockets; removing them from a team closes sockets that needed the team', async () => {
    const carol = await a.user('carol');
    const dan = await a.user('dan');
    const team = await a.api('POST', 'teams', { token: carol.token, body: { name: 'readers' } });
    await a.api('POST', `teams/${team.body.id}/members`, { token: carol.token, body: { user: 'dan' } });
    const id = await createNotebook(a, 'team.ipynb', undefined, carol.token);
    await a.api('PUT', `notebooks/${id}/grants`, { body: { type: 'team', name: 'readers', role: 'viewer' } });
    await share(a, id, 'carol', 'owner');

    const dansSocket = await open(b, id, dan.token);
    const dansClose = closed(dansSocket);
    expect((await a.api('DELETE', `teams/${team.body.id}/members/${dan.id}`, { token: carol.token })).status).toBe(204);
    expect(await dansClose).toMatchObject({ code: 4403 });

    const carolsSocket = await open(b, id, carol.token);
    const carolsClose = closed(carolsSocket);
    expect((await a.api('PATCH', `users/${carol.id}`, { body: { active: false } })).status).toBe(200);
    expect(await carolsClose).toEqual({ code: 4401, reason: expect.stringMatching(/deactivated/) });
  });

  it('removing someone’s access to a notebook on one server closes their socket on the other, and demotes at once', async () => {
    const erin = await a.user('erin');
    const frank = await a.user('frank');
    const gina = await a.user('gina');
    const id = await createNotebook(a, 'shared-across.ipynb', undefined, erin.token);
    await a.api('PUT', `notebooks/${id}/grants`, { token: erin.token, body: { type: 'user', name: 'frank', role: 'editor' } });
    await a.api('PUT', `notebooks/${id}/grants`, { token: erin.token, body: { type: 'user', name: 'gina', role: 'editor' } });
    const franks = await open(b, id, frank.token);
    const ginas = await open(b, id, gina.token);
    const franksClose = closed(franks);
    expect(
      (await a.api('PUT', `notebooks/${id}/grants`, { token: erin.token, body: { type: 'user', name: 'frank', role: null } })).status,
    ).toBe(200);
    expect(await franksClose).toMatchObject({ code: 4403, reason: expect.stringMatching(/removed/) });
    expect(ginas.readyState).toBe(ginas.OPEN);

    // Deleting the notebook on one server disconnects its editors on the other.
    const ginasClose = closed(ginas);
    expect((await a.api('DELETE', `notebooks/${id}`, { token: erin.token })).status).toBe(204);
    expect((await ginasClose).code).toBeGreaterThanOrEqual(4400);
  });
});
