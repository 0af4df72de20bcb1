import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

describe('API token revocation', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    alice = await server.user('alice');
    bob = await server.user('bob');
  });
  afterAll(() => server.stop());

  const newToken = async (owner: string, body: Record<string, unknown> = { name: 'laptop' }) => {
    const res = await server.api('POST', 'tokens', { token: owner, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; token: string };
  };

  it('a revoked token gets 401 on the very next request, although it was just used', async () => {
    const laptop = await newToken(alice.token);
    expect(await server.api('GET', 'me', { token: laptop.token })).toMatchObject({ status: 200, body: { name: 'alice' } });
    expect((await server.api('DELETE', `tokens/${laptop.id}`, { token: alice.token })).status).toBe(204);
    expect(await server.api('GET', 'me', { token: laptop.token })).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED', message: expect.stringMatching(/revoked/) } },
    });
    // Her other tokens keep working.
    expect((await server.api('GET', 'me', { token: alice.token })).status).toBe(200);
  });

  it('a token’s list entry says when it was last used, and an unused one says never', async () => {
    const used = await newToken(alice.token, { name: 'used' });
    const unused = await newToken(alice.token, { name: 'unused' });
    const before = Date.now();
    expect((await server.api('GET', 'me', { token: used.token })).status).toBe(200);
    const { tokens } = (await server.api('GET', 'tokens', { token: alice.token })).body as {
      tokens: { id: string; lastUsedAt: string | null }[];
    };
    const entry = (id: string) => tokens.find((t) => t.id === id)!;
    expect(Date.parse(entry(used.id).lastUsedAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(entry(unused.id).lastUsedAt).toBeNull();
  });

  it('a token can revoke itself, and is refused from then on', async () => {
    const script = await newToken(alice.token, { name: 'script' });
    expect((await server.api('DELETE', `tokens/${script.id}`, { token: script.token })).status).toBe(204);
    expect((await server.api('GET', 'me', { token: script.token })).status).toBe(401);
    expect((await server.api('DELETE', `tokens/${script.id}`, { token: script.token })).status).toBe(401);
  });

  it('a revoked worker token can no longer drive the worker API', async () => {
    const worker = await newToken(alice.token, { name: 'worker', kind: 'worker' });
    const registered = await server.api('POST', 'workers', { token: worker.token, body: { name: 'w', capabilities: ['gpu'] } });
    expect(registered.status).toBe(201);
    await server.api('DELETE', `tokens/${worker.id}`, { token: alice.token });
    const claim = await server.api('POST', `workers/${registered.body.id}/claim`, { token: worker.token, body: {} });
    expect(claim).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
  });

  it('revoking someone else’s token is refused as not found, and their token keeps working', async () => {
    const bobs = await newToken(bob.token);
    expect(await server.api('GET', 'me', { token: bobs.token })).toMatchObject({ status: 200, body: { name: 'bob' } });
    expect(await server.api('DELETE', `tokens/${bobs.id}`, { token: alice.token })).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    // Not even an admin revokes another person's token through this route.
    expect((await server.api('DELETE', `tokens/${bobs.id}`)).status).toBe(404);
    expect(await server.api('GET', 'me', { token: bobs.token })).toMatchObject({ status: 200, body: { name: 'bob' } });
  });

  it('revoking an unknown or already revoked token is a 404', async () => {
    const once = await newToken(alice.token);
    expect((await server.api('DELETE', `tokens/${once.id}`, { token: alice.token })).status).toBe(204);
    expect((await server.api('DELETE', `tokens/${once.id}`, { token: alice.token })).status).toBe(404);
    expect((await server.api('DELETE', 'tokens/no-such-token', { token: alice.token })).status).toBe(404);
  });

  it('anonymous callers cannot revoke anything', async () => {
    const kept = await newToken(alice.token);
    expect((await server.api('DELETE', `tokens/${kept.id}`, { token: null })).status).toBe(401);
    expect((await server.api('GET', 'me', { token: kept.token })).status).toBe(200);
  });
});

describe('team membership is managed by members only', () => {
  let server: TestServer;
  let owner: { id: string; token: string };
  let outsider: { id: string; token: string };
  let carol: { id: string; token: string };
  let teamId: string;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    owner = await server.user('tess');
    outsider = await server.user('oscar');
    carol = await server.user('carol');
    await server.user('dave');
    const created = await server.api('POST', 'teams', { token: owner.token, body: { name: 'analysts' } });
    expect(created.status).toBe(201);
    teamId = created.body.id;
  });
  afterAll(() => server.stop());

  /** The teams a user is in, read with a fresh token so no cached identity answers. */
  const teamsOf = async (token: string) => {
    const fresh = await server.api('POST', 'tokens', { token, body: { name: 'probe' } });
    return (await server.api('GET', 'me', { token: fresh.body.token })).body.teamIds as string[];
  };

  it('the creator of a team is its first member', async () => {
    expect(await teamsOf(owner.token)).toEqual([teamId]);
  });

  it('someone not in the team cannot add people to it: 404, as if the team did not exist', async () => {
    for (const user of ['oscar', 'carol']) {
      const res = await server.api('POST', `teams/${teamId}/members`, { token: outsider.token, body: { user } });
      expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: `team ${teamId} not found` } } });
    }
    // The answer is the same as for a team that does not exist.
    const missing = await server.api('POST', 'teams/no-such-team/members', { token: outsider.token, body: { user: 'carol' } });
    expect(missing).toMatchObject({ status: 404, body: { error: { message: 'team no-such-team not found' } } });
    expect(await teamsOf(outsider.token)).toEqual([]);
  });

  it('a member adds people; an admin adds people to any team', async () => {
    expect((await server.api('POST', `teams/${teamId}/members`, { token: owner.token, body: { user: 'carol' } })).status).toBe(204);
    expect((await server.api('POST', `teams/${teamId}/members`, { body: { user: 'dave' } })).status).toBe(204);
    const members = await server.ctx.db.query<{ name: string }>(
      'SELECT u.name FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY u.name',
      [teamId],
    );
    expect(members.map((m) => m.name)).toEqual(['carol', 'dave', 'tess']);
  });

  it('adding someone who does not exist names them', async () => {
    const res = await server.api('POST', `teams/${teamId}/members`, { token: owner.token, body: { user: 'nobody' } });
    expect(res).toMatchObject({ status: 404, body: { error: { message: 'user nobody not found' } } });
  });

  it('sharing with the team reaches its members, and nobody outside it', async () => {
    expect((await server.api('POST', 'models', { token: owner.token, body: { name: 'team-model' } })).status).toBe(201);
    const shared = await server.api('PUT', 'models/team-model/grants', {
      token: owner.token,
      body: { type: 'team', name: 'analysts', role: 'viewer' },
    });
    expect(shared.status).toBe(200);
    const asCarol = await server.api('POST', 'tokens', { token: carol.token, body: { name: 'fresh' } });
    expect(await server.api('GET', 'models/team-model', { token: asCarol.body.token })).toMatchObject({
      status: 200,
      body: { role: 'viewer' },
    });
    expect((await server.api('GET', 'models/team-model', { token: outsider.token })).status).toBe(404);
  });
});
