import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

// Admins manage accounts; nobody else can, and what they change takes effect on the next request.
describe('accounts', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    alice = await server.user('alice');
    bob = await server.user('bob');
  });
  afterAll(() => server.stop());

  const ok = (res: { status: number; body: any }, status = 200) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };

  it('the first token of a new user has an id, so an admin can revoke it', async () => {
    const created = ok(await server.api('POST', 'users', { body: { name: 'carol' } }), 201);
    expect(created.tokenId).toEqual(expect.any(String));
    const tokens = ok(await server.api('GET', `users/${created.user.id}/tokens`)).tokens;
    expect(tokens).toEqual([expect.objectContaining({ id: created.tokenId, name: 'initial', kind: 'user', revokedAt: null })]);
    expect(JSON.stringify(tokens)).not.toContain(created.token);
    ok(await server.api('DELETE', `users/${created.user.id}/tokens/${created.tokenId}`), 204);
    expect((await server.api('GET', 'me', { token: created.token })).status).toBe(401);
  });

  it('people list their own tokens, never their values, and not anyone else’s', async () => {
    const laptop = ok(await server.api('POST', 'tokens', { token: alice.token, body: { name: 'laptop' } }), 201);
    const mine = ok(await server.api('GET', 'tokens', { token: alice.token })).tokens;
    expect(mine.map((t: { name: string }) => t.name)).toEqual(['laptop', 'initial']);
    expect(JSON.stringify(mine)).not.toContain(laptop.token);
    expect(ok(await server.api('GET', 'tokens', { token: bob.token })).tokens.map((t: { name: string }) => t.name)).toEqual(['initial']);
    expect(await server.api('GET', `users/${alice.id}/tokens`, { token: bob.token })).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    expect((await server.api('DELETE', `users/${alice.id}/tokens/${laptop.id}`, { token: bob.token })).status).toBe(403);
    expect((await server.api('GET', 'me', { token: laptop.token })).status).toBe(200);
  });

  it('a deactivated user’s tokens are refused at once, and work again when reactivated', async () => {
    const dave = await server.user('dave');
    expect((await server.api('GET', 'me', { token: dave.token })).status).toBe(200);
    expect(ok(await server.api('PATCH', `users/${dave.id}`, { body: { active: false } }))).toMatchObject({ name: 'dave', active: false });
    expect(await server.api('GET', 'me', { token: dave.token })).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED' } },
    });
    ok(await server.api('PATCH', `users/${dave.id}`, { body: { active: true } }));
    expect((await server.api('GET', 'me', { token: dave.token })).status).toBe(200);
  });

  it('only admins deactivate users, and an admin cannot lock themselves out', async () => {
    expect((await server.api('PATCH', `users/${bob.id}`, { token: alice.token, body: { active: false } })).status).toBe(403);
    expect((await server.api('GET', 'me', { token: bob.token })).status).toBe(200);
    const me = ok(await server.api('GET', 'me'));
    expect(await server.api('PATCH', `users/${me.id}`, { body: { active: false } })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_ARGUMENT' } },
    });
    expect((await server.api('PATCH', 'users/nobody-has-this-id', { body: { active: false } })).status).toBe(404);
  });

  it('a removed team member loses what the team was granted on the next request', async () => {
    const team = ok(await server.api('POST', 'teams', { token: alice.token, body: { name: 'analysts' } }), 201);
    ok(await server.api('POST', `teams/${team.id}/members`, { token: alice.token, body: { user: 'bob' } }), 204);
    ok(await server.api('POST', 'models', { token: alice.token, body: { name: 'team-model' } }), 201);
    ok(
      await server.api('PUT', 'models/team-model/grants', { token: alice.token, body: { type: 'team', name: 'analysts', role: 'viewer' } }),
    );
    expect((await server.api('GET', 'models/team-model', { token: bob.token })).status).toBe(200);

    // Outsiders cannot remove members: the team does not exist for them.
    const eve = await server.user('eve');
    expect((await server.api('DELETE', `teams/${team.id}/members/${bob.id}`, { token: eve.token })).status).toBe(404);
    expect((await server.api('GET', 'models/team-model', { token: bob.token })).status).toBe(200);

    ok(await server.api('DELETE', `teams/${team.id}/members/${bob.id}`, { token: alice.token }), 204);
    expect((await server.api('GET', 'models/team-model', { token: bob.token })).status).toBe(404);
    expect((await server.api('DELETE', `teams/${team.id}/members/${bob.id}`, { token: alice.token })).status).toBe(404);
  });

  it('deleting a team removes every grant made to it', async () => {
    const team = ok(await server.api('POST', 'teams', { token: alice.token, body: { name: 'short-lived' } }), 201);
    ok(await server.api('POST', `teams/${team.id}/members`, { token: alice.token, body: { user: 'bob' } }), 204);
    ok(await server.api('POST', 'models', { token: alice.token, body: { name: 'short-lived-model' } }), 201);
    ok(
      await server.api('PUT', 'models/short-lived-model/grants', {
        token: alice.token,
        body: { type: 'team', name: 'short-lived', role: 'editor' },
      }),
    );
    expect((await server.api('GET', 'models/short-lived-model', { token: bob.token })).status).toBe(200);

    const eve = await server.user('eve2');
    expect((await server.api('DELETE', `teams/${team.id}`, { token: eve.token })).status).toBe(404);
    ok(await server.api('DELETE', `teams/${team.id}`, { token: alice.token }), 204);
    expect((await server.api('GET', 'models/short-lived-model', { token: bob.token })).status).toBe(404);
    const grants = ok(await server.api('GET', 'models/short-lived-model/grants', { token: alice.token })).grants;
    expect(grants.map((g: { principal: { type: string } }) => g.principal.type)).toEqual(['user']);
    // The name is free again.
    ok(await server.api('POST', 'teams', { token: bob.token, body: { name: 'short-lived' } }), 201);
  });

  it('worker tokens cannot manage accounts', async () => {
    const worker = ok(await server.api('POST', 'tokens', { body: { name: 'w', kind: 'worker' } }), 201);
    for (const [method, path] of [
      ['GET', 'tokens'],
      ['GET', `users/${alice.id}/tokens`],
      ['PATCH', `users/${alice.id}`],
      ['DELETE', 'teams/x'],
    ] as const) {
      const res = await server.api(method, path, { token: worker.token, body: method === 'PATCH' ? { active: false } : undefined });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });

  it('a revoked admin token manages nothing: every account route answers 401', async () => {
    const admin = await server.api('GET', 'me');
    const spare = ok(await server.api('POST', 'tokens', { body: { name: 'spare admin' } }), 201);
    ok(await server.api('DELETE', `tokens/${spare.id}`), 204);
    for (const [method, path, body] of [
      ['POST', 'users', { name: 'mallory' }],
      ['GET', `users/${alice.id}/tokens`, undefined],
      ['PATCH', `users/${alice.id}`, { active: false }],
      ['PUT', `users/${alice.id}/password`, { password: 'a long new passphrase' }],
      ['DELETE', `teams/x/members/${alice.id}`, undefined],
      ['DELETE', 'teams/x', undefined],
    ] as const) {
      const res = await server.api(method, path, { token: spare.token, body });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    expect(admin.status).toBe(200);
    expect((await server.api('GET', 'me', { token: alice.token })).body).toMatchObject({ name: 'alice' });
  });

  it('hostile ids in account routes are a 4xx, never a 500', async () => {
    for (const id of ['..%2F..%2Fetc', '%00', 'x'.repeat(5000), '%F0%9F', "1'; DROP TABLE users; --"]) {
      for (const [method, path, body] of [
        ['GET', `users/${id}/tokens`, undefined],
        ['DELETE', `users/${id}/tokens/${id}`, undefined],
        ['PATCH', `users/${id}`, { active: false }],
        ['DELETE', `teams/${id}/members/${id}`, undefined],
        ['DELETE', `teams/${id}`, undefined],
      ] as const) {
        const res = await server.api(method, path, { body });
        expect(res.status, `${method} ${path.slice(0, 80)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path.slice(0, 80)}`).toBeLessThan(500);
      }
    }
    expect((await server.api('GET', 'me', { token: bob.token })).status).toBe(200);
  });
});
