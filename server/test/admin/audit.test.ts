import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditLogEntry, AuditLogFacets, TeamWithMembers, User } from '../../src/api/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { asBrowser, signIn, userWithPassword } from '../support/sessions.js';

const PASSWORD = 'correct horse battery';

/** Every key of T, as the contract test spells it: each answer must have exactly these. */
type KeyList<T> = { [K in keyof T]-?: true };
const ENTRY = {
  id: true,
  at: true,
  actorId: true,
  actorName: true,
  action: true,
  resourceType: true,
  resourceId: true,
  details: true,
} satisfies KeyList<AuditLogEntry>;
const FACETS = { actions: true, resourceTypes: true } satisfies KeyList<AuditLogFacets>;
const USER = { id: true, name: true, displayName: true, isAdmin: true, active: true, createdAt: true } satisfies KeyList<User>;
const TEAM = { id: true, name: true, members: true } satisfies KeyList<TeamWithMembers>;
const keysOf = (list: object) => Object.keys(list).sort();

describe('the audit log reader', () => {
  let server: TestServer;
  let adminId: string;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let teamId: string;
  let laptopId: string;

  const ok = (res: { status: number; body: any }, status = 200) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };
  const audit = async (query = '', token?: string): Promise<{ items: AuditLogEntry[]; total: number; nextPageToken?: string }> =>
    ok(await server.api('GET', `audit${query ? `?${query}` : ''}`, { token }));
  const actions = (page: { items: AuditLogEntry[] }) => page.items.map((e) => e.action);

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    adminId = ok(await server.api('GET', 'me')).id;
    alice = await server.user('alice');
    bob = await userWithPassword(server, 'bob', PASSWORD);
    teamId = ok(await server.api('POST', 'teams', { body: { name: 'analysts' } }), 201).id;
    ok(await server.api('POST', `teams/${teamId}/members`, { body: { user: 'alice' } }), 204);
    laptopId = ok(await server.api('POST', 'tokens', { token: alice.token, body: { name: 'laptop' } }), 201).id;
    ok(await server.api('DELETE', `users/${alice.id}/tokens/${laptopId}`), 204);
    ok(await server.api('PATCH', `users/${bob.id}`, { body: { active: false } }));
    ok(await server.api('PATCH', `users/${bob.id}`, { body: { active: true } }));
  });
  afterAll(() => server.stop());

  it('account changes are recorded with who made them, newest first, in the contract’s shape', async () => {
    const page = await audit('who=admin');
    expect(actions(page)).toEqual([
      'user.reactivate',
      'user.deactivate',
      'token.revoke',
      'team.member.add',
      'team.create',
      'user.password_reset',
      'token.create',
      'user.create',
      'token.create',
      'user.create',
    ]);
    for (const entry of page.items) expect(keysOf(entry)).toEqual(keysOf(ENTRY));
    expect(page.items[2]).toMatchObject({
      actorId: adminId,
      actorName: 'admin',
      resourceType: 'token',
      resourceId: laptopId,
      details: { userId: alice.id },
    });
    expect(page.items.find((e) => e.action === 'team.member.add')).toMatchObject({ resourceId: teamId, details: { userId: alice.id } });
    expect(page.items.find((e) => e.action === 'user.create')).toMatchObject({
      resourceId: bob.id,
      details: { name: 'bob', isAdmin: false },
    });
    // Alice made her own token: that entry is hers.
    expect(actions(await audit('who=alice'))).toEqual(['token.create']);
    const ats = page.items.map((e) => Date.parse(e.at as string));
    expect([...ats].sort((a, b) => b - a)).toEqual(ats);
  });

  it('who takes a user id or a user name', async () => {
    expect(await audit(`who=${adminId}`)).toEqual(await audit('who=admin'));
    expect(await audit('who=nobody-by-that-name')).toEqual({ items: [], total: 0 });
  });

  it('filters by action, by resource, and combines filters', async () => {
    expect((await audit('action=user.deactivate')).items).toEqual([
      expect.objectContaining({ action: 'user.deactivate', resourceType: 'user', resourceId: bob.id, actorName: 'admin' }),
    ]);
    expect(actions(await audit(`resourceType=user&resourceId=${bob.id}`))).toEqual([
      'user.reactivate',
      'user.deactivate',
      'user.password_reset',
      'user.create',
    ]);
    expect(actions(await audit('resourceType=team'))).toEqual(['team.member.add', 'team.create']);
    expect(actions(await audit(`who=alice&resourceType=token`))).toEqual(['token.create']);
    expect((await audit('who=alice&action=user.create')).total).toBe(0);
  });

  it('filters by time: from is inclusive, to exclusive', async () => {
    const all = await audit('who=admin');
    const deactivated = all.items.find((e) => e.action === 'user.deactivate')!;
    const at = new Date(deactivated.at as string);
    const window = (from: Date, to: Date) => audit(`who=admin&from=${from.toISOString()}&to=${to.toISOString()}`);
    const after = await window(at, new Date(at.getTime() + 60_000));
    expect(actions(after)).toEqual(['user.reactivate', 'user.deactivate']);
    const before = await window(new Date(at.getTime() - 60_000), at);
    expect(actions(before)).not.toContain('user.deactivate');
    expect(before.total + after.total).toBe(all.total);
    // Any zone offset will do.
    expect(actions(await audit(`action=user.deactivate&from=${encodeURIComponent('2000-01-01T00:00:00+02:00')}`))).toEqual([
      'user.deactivate',
    ]);
    expect((await audit('from=2999-01-01T00:00:00Z')).total).toBe(0);
  });

  it('pages newest first: every entry once, with the total and a token for the next page', async () => {
    const all = await audit('limit=200');
    expect(all.total).toBe(all.items.length);
    expect(all.nextPageToken).toBeUndefined();
    const seen: AuditLogEntry[] = [];
    let query = 'limit=3';
    for (;;) {
      const page = await audit(query);
      expect(page.total).toBe(all.total);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items);
      if (!page.nextPageToken) break;
      query = `limit=3&pageToken=${page.nextPageToken}`;
    }
    expect(seen.map((e) => e.id)).toEqual(all.items.map((e) => e.id));
    const ids = seen.map((e) => BigInt(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
  });

  it('lists the actions and resource types recorded, to filter by', async () => {
    const facets = ok(await server.api('GET', 'audit/facets'));
    expect(keysOf(facets)).toEqual(keysOf(FACETS));
    expect(facets.actions).toEqual(expect.arrayContaining(['user.create', 'user.deactivate', 'team.create', 'token.revoke']));
    expect(facets.actions).toEqual([...facets.actions].sort());
    expect(facets.resourceTypes).toEqual(['team', 'token', 'user']);
  });

  it('bad filters are refused with the field named', async () => {
    const refused = async (query: string, message: RegExp) => {
      const res = await server.api('GET', `audit?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
      expect(res.body.error.message, query).toMatch(message);
    };
    await refused('from=yesterday', /^query\.from: expected an ISO 8601 time/);
    await refused('to=2025-01-31', /^query\.to: expected an ISO 8601 time/);
    await refused('from=2025-01-31T10:00:00', /^query\.from:/);
    await refused('from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z', /^query\.to: must be after query\.from/);
    await refused(`action=${encodeURIComponent("x' OR 1=1 --")}`, /^query\.action: expected a dotted action name/);
    await refused('action=User.Create', /^query\.action:/);
    await refused('resourceType=user.x', /^query\.resourceType: expected a resource type/);
    await refused('who=', /^query\.who:/);
    await refused('who=alice&who=bob', /^query\.who:/);
    await refused(`who=${'x'.repeat(201)}`, /^query\.who:/);
    await refused('who=%00', /^query\.who: text may not contain NUL/);
    await refused('limit=0', /^query\.limit:/);
    await refused('limit=201', /^query\.limit:/);
    await refused('pageToken=not-a-token', /^query\.pageToken:/);
  });

  it('hostile text in a filter is only ever a value: nothing matches, nothing breaks', async () => {
    for (const hostile of ["alice' OR '1'='1", 'admin"; DROP TABLE audit_log; --', '%', '\\']) {
      const q = encodeURIComponent(hostile);
      expect((await audit(`who=${q}`)).total).toBe(0);
      expect((await audit(`resourceId=${q}`)).total).toBe(0);
    }
    expect((await audit()).total).toBeGreaterThan(0);
  });

  it('is for admins only: a person, a worker token, a revoked token, an admin’s job token and strangers are refused', async () => {
    const forbidden = { status: 403, body: { error: { code: 'FORBIDDEN' } } };
    expect(await server.api('GET', 'audit', { token: alice.token })).toMatchObject(forbidden);
    expect(await server.api('GET', 'audit/facets', { token: alice.token })).toMatchObject(forbidden);
    const worker = ok(await server.api('POST', 'tokens', { body: { name: 'agent', kind: 'worker' } }), 201);
    expect(await server.api('GET', 'audit', { token: worker.token })).toMatchObject(forbidden);
    const job = await server.ctx.auth.createJobToken(adminId, 'some-job', 60_000);
    expect(await server.api('GET', 'audit', { token: job })).toMatchObject(forbidden);
    const old = ok(await server.api('POST', 'tokens', { body: { name: 'old' } }), 201);
    expect((await server.api('GET', 'audit', { token: old.token })).status).toBe(200);
    ok(await server.api('DELETE', `tokens/${old.id}`, { token: old.token }), 204);
    expect(await server.api('GET', 'audit', { token: old.token })).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED' } },
    });
    expect((await server.api('GET', 'audit', { token: null })).status).toBe(401);
    const session = await signIn(server, 'bob', PASSWORD);
    expect(await asBrowser(server, session.cookie!)('GET', 'audit')).toMatchObject(forbidden);
  });
});

describe('what the admin page lists and changes', () => {
  let server: TestServer;
  let adminId: string;
  let carol: { id: string; token: string };

  const ok = (res: { status: number; body: any }, status = 200) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    adminId = ok(await server.api('GET', 'me')).id;
    carol = await userWithPassword(server, 'carol', PASSWORD);
    for (const name of ['dan', 'dana', 'erin']) await server.user(name);
  });
  afterAll(() => server.stop());

  it('lists every account with its state by name, searched and paged', async () => {
    ok(await server.api('PATCH', `users/${carol.id}`, { body: { active: false } }));
    const all = ok(await server.api('GET', 'admin/users'));
    expect(all.items.map((u: User) => u.name)).toEqual(['admin', 'carol', 'dan', 'dana', 'erin']);
    for (const user of all.items) expect(keysOf(user)).toEqual(keysOf(USER));
    expect(all.items[0]).toMatchObject({ isAdmin: true, active: true });
    expect(all.items[1]).toMatchObject({ isAdmin: false, active: false });
    expect(ok(await server.api('GET', 'admin/users?q=dan')).items.map((u: User) => u.name)).toEqual(['dan', 'dana']);
    // Wildcards are text.
    expect(ok(await server.api('GET', 'admin/users?q=%25')).total).toBe(0);
    const first = ok(await server.api('GET', 'admin/users?limit=2'));
    expect(first).toMatchObject({ total: 5, nextPageToken: expect.any(String) });
    const second = ok(await server.api('GET', `admin/users?limit=2&pageToken=${first.nextPageToken}`));
    expect(second.items.map((u: User) => u.name)).toEqual(['dan', 'dana']);
    ok(await server.api('PATCH', `users/${carol.id}`, { body: { active: true } }));
  });

  it('lists every team with its members, whoever created it', async () => {
    const dan = ok(await server.api('GET', 'admin/users?q=dan')).items[0];
    const team = ok(await server.api('POST', 'teams', { token: carol.token, body: { name: 'sales' } }), 201);
    ok(await server.api('POST', `teams/${team.id}/members`, { token: carol.token, body: { user: 'dan' } }), 204);
    ok(await server.api('POST', 'teams', { body: { name: 'empty-ish' } }), 201);
    const teams = ok(await server.api('GET', 'admin/teams'));
    expect(teams.total).toBe(2);
    for (const t of teams.items) expect(keysOf(t)).toEqual(keysOf(TEAM));
    expect(teams.items.find((t: TeamWithMembers) => t.name === 'sales').members).toEqual([
      { id: carol.id, name: 'carol', displayName: 'carol' },
      { id: dan.id, name: 'dan', displayName: 'dan' },
    ]);
  });

  it('makes a user an admin and back; it holds from their next request, and is audited', async () => {
    expect((await server.api('GET', 'audit', { token: carol.token })).status).toBe(403);
    expect(ok(await server.api('PUT', `users/${carol.id}/admin`, { body: { isAdmin: true } }))).toMatchObject({
      name: 'carol',
      isAdmin: true,
    });
    expect((await server.api('GET', 'audit', { token: carol.token })).status).toBe(200);
    expect(ok(await server.api('PUT', `users/${carol.id}/admin`, { body: { isAdmin: false } }))).toMatchObject({ isAdmin: false });
    expect((await server.api('GET', 'audit', { token: carol.token })).status).toBe(403);
    const entries = ok(await server.api('GET', `audit?resourceType=user&resourceId=${carol.id}`)).items;
    expect(entries.slice(0, 2).map((e: AuditLogEntry) => [e.action, e.actorName])).toEqual([
      ['user.admin.revoke', 'admin'],
      ['user.admin.grant', 'admin'],
    ]);
  });

  it('nobody can unmake themselves, so an admin always remains; nor can a non-admin or a worker token make admins', async () => {
    expect(await server.api('PUT', `users/${adminId}/admin`, { body: { isAdmin: false } })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_ARGUMENT', message: 'you cannot remove your own admin rights' } },
    });
    expect((await server.api('PUT', `users/${carol.id}/admin`, { token: carol.token, body: { isAdmin: true } })).status).toBe(403);
    const worker = ok(await server.api('POST', 'tokens', { body: { name: 'agent', kind: 'worker' } }), 201);
    expect((await server.api('PUT', `users/${carol.id}/admin`, { token: worker.token, body: { isAdmin: true } })).status).toBe(403);
    expect(await server.api('PUT', `users/${carol.id}/admin`, { body: { isAdmin: 'yes' } })).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringMatching(/^body\.isAdmin:/) } },
    });
    expect((await server.api('PUT', 'users/nobody/admin', { body: { isAdmin: true } })).status).toBe(404);
    expect(ok(await server.api('GET', 'me', { token: carol.token })).isAdmin).toBe(false);
  });

  it('the lists are for admins only', async () => {
    for (const path of ['admin/users', 'admin/teams']) {
      expect((await server.api('GET', path, { token: carol.token })).status, path).toBe(403);
      expect((await server.api('GET', path, { token: null })).status, path).toBe(401);
    }
  });
});
