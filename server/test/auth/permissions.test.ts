import { afterEach, beforeEach, expect, it } from 'vitest';
import { AuthStore } from '../../src/auth/auth.store.js';
import { Permissions } from '../../src/auth/permissions.js';
import type { Principal } from '../../src/auth/principal.js';
import { describeEachDb } from '../support/backends.js';

describeEachDb('Permissions', (backend) => {
  let db: Awaited<ReturnType<typeof backend.open>>;
  let auth: AuthStore;
  let perms: Permissions;
  const principal = async (token: string) => (await auth.authenticate(token)) as Principal;

  beforeEach(async () => {
    db = await backend.open();
    auth = new AuthStore(db);
    perms = new Permissions(db);
  });
  afterEach(async () => db.drop());

  it('roleOf() takes the strongest of direct and team grants', async () => {
    const ann = await auth.createUser({ name: 'ann' });
    const bob = await auth.createUser({ name: 'bob' });
    const team = await auth.createTeam('analysts', bob.id);
    await auth.addMember(team.id, ann.id);
    await perms.grant('model', 'm1', { type: 'user', id: ann.id }, 'viewer');
    await perms.grant('model', 'm1', { type: 'team', id: team.id }, 'editor');
    const { token } = await auth.createToken(ann.id, 't');
    expect(await perms.roleOf(await principal(token), 'model', 'm1')).toBe('editor');
  });

  it('require() hides resources from outsiders and forbids weaker roles', async () => {
    const ann = await auth.createUser({ name: 'ann' });
    const eve = await auth.createUser({ name: 'eve' });
    await perms.grant('model', 'm1', { type: 'user', id: ann.id }, 'viewer');
    const annP = await principal((await auth.createToken(ann.id, 't')).token);
    const eveP = await principal((await auth.createToken(eve.id, 't')).token);
    await expect(perms.require(eveP, 'model', 'm1', 'viewer')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(perms.require(annP, 'model', 'm1', 'editor')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(perms.require(annP, 'model', 'm1', 'viewer')).resolves.toBe('viewer');
    await expect(perms.require(undefined, 'model', 'm1', 'viewer')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('visibleSql() selects exactly the resources a user can see', async () => {
    const ann = await auth.createUser({ name: 'ann' });
    await db.query('CREATE TABLE things (id text PRIMARY KEY)');
    await db.query("INSERT INTO things VALUES ('a'), ('b'), ('c')");
    const team = await auth.createTeam('t', ann.id);
    await perms.grant('model', 'a', { type: 'user', id: ann.id }, 'viewer');
    await perms.grant('model', 'c', { type: 'team', id: team.id }, 'viewer');
    const annP = await principal((await auth.createToken(ann.id, 't')).token);
    const visible = perms.visibleSql(annP, 'model', 'things.id', 1);
    const rows = await db.query<{ id: string }>(`SELECT id FROM things WHERE ${visible.sql} ORDER BY id`, visible.params);
    expect(rows.map((r) => r.id)).toEqual(['a', 'c']);
  });

  it('roleJoin() gives each visible row the strongest role in one query and drops the others; admins own all', async () => {
    const ann = await auth.createUser({ name: 'ann' });
    const boss = await auth.createUser({ name: 'boss', isAdmin: true });
    await db.query('CREATE TABLE things (id text PRIMARY KEY)');
    await db.query("INSERT INTO things VALUES ('a'), ('b'), ('c')");
    const team = await auth.createTeam('t', ann.id);
    await perms.grant('model', 'a', { type: 'user', id: ann.id }, 'viewer');
    await perms.grant('model', 'a', { type: 'team', id: team.id }, 'editor');
    await perms.grant('model', 'c', { type: 'team', id: team.id }, 'viewer');
    await perms.grant('notebook', 'b', { type: 'user', id: ann.id }, 'owner');
    const rolesOf = async (who: Principal) => {
      const join = perms.roleJoin(who, 'model', 'things.id', 1);
      return db.query<{ id: string; role: string }>(`SELECT things.id, r.role FROM things ${join.sql} ORDER BY id`, join.params);
    };
    const annP = await principal((await auth.createToken(ann.id, 't')).token);
    expect(await rolesOf(annP)).toEqual([
      { id: 'a', role: 'editor' },
      { id: 'c', role: 'viewer' },
    ]);
    const bossP = await principal((await auth.createToken(boss.id, 't')).token);
    expect((await rolesOf(bossP)).map((r) => r.role)).toEqual(['owner', 'owner', 'owner']);
  });

  it('listNamed() names users and teams (ids of principals that are gone), and ownerCount() counts owners', async () => {
    const ann = await auth.createUser({ name: 'ann' });
    const team = await auth.createTeam('analysts', ann.id);
    await perms.grant('model', 'm1', { type: 'user', id: ann.id }, 'owner');
    await perms.grant('model', 'm1', { type: 'team', id: team.id }, 'viewer');
    await perms.grant('model', 'm1', { type: 'user', id: 'gone' }, 'owner');
    expect((await perms.listNamed('model', 'm1')).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { principal: { type: 'team', id: team.id }, role: 'viewer', name: 'analysts' },
      { principal: { type: 'user', id: ann.id }, role: 'owner', name: 'ann' },
      { principal: { type: 'user', id: 'gone' }, role: 'owner', name: 'gone' },
    ]);
    expect(await perms.ownerCount('model', 'm1')).toBe(2);
    expect(await perms.ownerCount('model', 'none')).toBe(0);
  });

  it('require() names the resource by its label in errors', async () => {
    const ann = await auth.createUser({ name: 'ann' });
    await perms.grant('model', 'm1', { type: 'user', id: ann.id }, 'viewer');
    const annP = await principal((await auth.createToken(ann.id, 't')).token);
    await expect(perms.require(annP, 'model', 'm1', 'owner', { label: 'churn' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'owner role required on model churn; you are viewer',
    });
    await expect(perms.require(annP, 'model', 'm2', 'viewer', { label: 'other' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'model other not found',
    });
  });

  it('revoked tokens no longer authenticate', async () => {
    const ann = await auth.createUser({ name: 'ann' });
    const { id, token } = await auth.createToken(ann.id, 't');
    expect(await auth.authenticate(token)).toBeDefined();
    await auth.revokeToken(ann.id, id);
    expect(await auth.authenticate(token)).toBeUndefined();
  });
});
