import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TandemServer } from '../../src/server.js';
import { Person, startOidcProvider, type TestProvider } from '../support/oidc-provider.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { asBrowser, signIn, userWithPassword } from '../support/sessions.js';

const ADMINS = 'tandem-admins';

describe('single sign-on with OpenID Connect', () => {
  let idp: TestProvider;
  let server: TestServer;
  let restarted: TandemServer | undefined;
  let address = 0;

  beforeAll(async () => {
    idp = await startOidcProvider();
    server = await startTestServer({
      db: 'postgres',
      env: idp.env({ TANDEM_OIDC_GROUPS_CLAIM: 'groups', TANDEM_OIDC_ADMIN_CLAIM: 'groups', TANDEM_OIDC_ADMIN_VALUE: ADMINS }),
    });
    idp.allow(server.url);
  });
  afterAll(async () => {
    await restarted?.close();
    await server?.stop();
    await idp?.close();
  });

  const start = (next = '/tandem/d/sales') => `${server.url}/tandem/login/oidc?next=${encodeURIComponent(next)}`;
  /** Signs `login` in at the provider as a new browser; answers Tandem's answer to the callback. */
  const ssoSignIn = async (login: string, next?: string) => {
    const person = new Person();
    const callback = await person.signInAtProvider(start(next), login);
    const res = await person.fetch(callback);
    return { person, callback, res, cookie: person.cookie(server.url, 'tandem_session') };
  };
  const me = async (cookie: string | undefined) => (await asBrowser(server, cookie!)('GET', 'me')).body;
  const teamNames = async (userId: string) =>
    (
      await server.ctx.db.query<{ name: string; source: string }>(
        'SELECT t.name, m.source FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1 ORDER BY t.name',
        [userId],
      )
    ).map((r) => `${r.name} (${r.source})`);
  const auditOf = (userId: string) =>
    server.ctx.db.query<{ action: string; details: Record<string, unknown> }>(
      `SELECT action, details FROM audit_log WHERE resource_type = 'user' AND resource_id = $1 ORDER BY id`,
      [userId],
    );

  it('the sign-in page offers “Sign in with Test ID” and no password form, and password sign-in is refused', async () => {
    const page = await fetch(`${server.url}/tandem/login?next=${encodeURIComponent('/tandem/d/sales?key=k')}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<a class="sso" href="/tandem/login/oidc?next=%2Ftandem%2Fd%2Fsales%3Fkey%3Dk">Sign in with Test ID</a>');
    expect(html).not.toContain('action="/tandem/login"');
    expect(html).not.toMatch(/<script|https?:\/\//i);
    expect(await signIn(server, 'admin', 'any password at all')).toMatchObject({
      status: 403,
      body: { error: { message: expect.stringMatching(/password sign-in is off/) } },
    });
  });

  it('sends the browser to the provider with PKCE (S256), state and nonce, keeping the state in a short-lived HttpOnly cookie', async () => {
    const res = await fetch(start(), { redirect: 'manual' });
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin).toBe(idp.issuer);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      client_id: 'tandem',
      response_type: 'code',
      redirect_uri: `${server.url}/tandem/login/oidc/callback`,
      scope: 'openid profile email groups',
      code_challenge_method: 'S256',
      code_challenge: expect.stringMatching(/^[\w-]{43}$/),
      state: expect.stringMatching(/^[\w-]{40,}$/),
      nonce: expect.stringMatching(/^[\w-]{40,}$/),
    });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('tandem_oidc='))!;
    expect(cookie).toBe(`tandem_oidc=${to.searchParams.get('state')}; Max-Age=600; Path=/tandem/login/oidc; HttpOnly; SameSite=Lax`);
    // Only a hash of the state is kept on the server.
    expect(JSON.stringify(await server.ctx.db.query('SELECT * FROM oidc_logins'))).not.toContain(to.searchParams.get('state'));
  });

  it('a first sign-in creates the user, keyed by issuer and sub, with a session that can call the API', async () => {
    idp.accounts.set('u-1001', { preferred_username: 'ana', name: 'Ana Lima', email: 'ana@corp.example', groups: ['analysts'] });
    const { res, cookie } = await ssoSignIn('u-1001');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/tandem/d/sales');
    const session = res.headers.getSetCookie().find((c) => c.startsWith('tandem_session='))!;
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Lax/);
    expect(session).not.toMatch(/Secure/);
    expect(res.headers.getSetCookie()).toContainEqual(expect.stringMatching(/^tandem_oidc=; Max-Age=0/));

    const ana = await me(cookie);
    expect(ana).toMatchObject({ name: 'ana', displayName: 'Ana Lima', isAdmin: false, teamIds: [expect.any(String)] });
    expect(await teamNames(ana.id)).toEqual(['analysts (oidc)']);
    const [identity] = await server.ctx.db.query('SELECT issuer, subject FROM user_identities WHERE user_id = $1', [ana.id]);
    expect(identity).toEqual({ issuer: idp.issuer, subject: 'u-1001' });

    // The same session rules as a password session: writes need the CSRF token.
    const { csrfToken } = (await asBrowser(server, cookie!)('GET', 'sessions/current')).body;
    expect((await asBrowser(server, cookie!)('POST', 'tokens', { name: 'forged' })).status).toBe(403);
    expect((await asBrowser(server, cookie!, csrfToken)('POST', 'tokens', { name: 'mine' })).status).toBe(201);
    expect(await auditOf(ana.id)).toEqual([
      expect.objectContaining({
        action: 'user.sso_create',
        details: expect.objectContaining({ subject: 'u-1001', teamsCreated: ['analysts'] }),
      }),
      expect.objectContaining({ action: 'user.sign_in', details: expect.objectContaining({ method: 'oidc' }) }),
    ]);
  });

  it('without a next, the person lands on the sign-in page, which says who is signed in', async () => {
    idp.accounts.set('u-1002', { preferred_username: 'ben', name: 'Ben' });
    const person = new Person();
    const res = await person.fetch(await person.signInAtProvider(`${server.url}/tandem/login/oidc`, 'u-1002'));
    expect(res.headers.get('location')).toBe('/tandem/login');
    const page = await (await person.fetch(`${server.url}/tandem/login`)).text();
    expect(page).toContain('Signed in as <strong>ben</strong>');
  });

  it('a second sign-in updates the display name and the groups; the user name and id stay', async () => {
    const first = await me((await ssoSignIn('u-1001')).cookie);
    idp.accounts.set('u-1001', {
      preferred_username: 'ana.souza',
      name: 'Ana Souza',
      email: 'ana@corp.example',
      groups: ['analysts', 'data-eng'],
    });
    const second = await me((await ssoSignIn('u-1001')).cookie);
    expect(second).toMatchObject({ id: first.id, name: 'ana', displayName: 'Ana Souza' });
    expect(await teamNames(first.id)).toEqual(['analysts (oidc)', 'data-eng (oidc)']);

    idp.accounts.set('u-1001', { preferred_username: 'ana.souza', name: 'Ana Souza', groups: ['data-eng'] });
    const third = await me((await ssoSignIn('u-1001')).cookie);
    expect(await teamNames(first.id)).toEqual(['data-eng (oidc)']);
    expect(third.teamIds).toHaveLength(1);
    const [last] = (await auditOf(first.id)).filter((e) => e.action === 'user.sso_update').slice(-1);
    expect(last!.details).toMatchObject({ teamsLeft: ['analysts'] });
    const users = await server.ctx.db.query('SELECT id FROM users WHERE id = $1 OR name LIKE $2', [first.id, 'ana%']);
    expect(users).toHaveLength(1);
  });

  it('teams follow the groups, but memberships made by hand stay', async () => {
    idp.accounts.set('u-1003', { preferred_username: 'cleo', groups: ['finance', 'ops'] });
    const cleo = await me((await ssoSignIn('u-1003')).cookie);
    // An admin adds her by hand to a team of their own, and to "ops", where the provider put her.
    const board = (await server.api('POST', 'teams', { body: { name: 'board' } })).body;
    expect((await server.api('POST', `teams/${board.id}/members`, { body: { user: 'cleo' } })).status).toBe(204);
    const ops = (await server.ctx.auth.findTeamByName('ops'))!;
    expect((await server.api('POST', `teams/${ops.id}/members`, { body: { user: 'cleo' } })).status).toBe(204);
    expect(await teamNames(cleo.id)).toEqual(['board (manual)', 'finance (oidc)', 'ops (manual)']);

    idp.accounts.set('u-1003', { preferred_username: 'cleo', groups: [] });
    await ssoSignIn('u-1003');
    expect(await teamNames(cleo.id)).toEqual(['board (manual)', 'ops (manual)']);
    // The emptied team is still there, with what it was granted.
    expect(await server.ctx.auth.findTeamByName('finance')).toBeDefined();

    // A group naming a hand-made team joins it; the provider may take away only that membership.
    idp.accounts.set('u-1003', { preferred_username: 'cleo', groups: ['board', 'finance'] });
    await ssoSignIn('u-1003');
    expect(await teamNames(cleo.id)).toEqual(['board (manual)', 'finance (oidc)', 'ops (manual)']);
  });

  it('the admin claim makes admins at sign-in and takes admin away at the next', async () => {
    idp.accounts.set('u-1004', { preferred_username: 'dev', groups: ['ops', ADMINS] });
    const made = await ssoSignIn('u-1004');
    const dev = await me(made.cookie);
    expect(dev.isAdmin).toBe(true);
    expect((await asBrowser(server, made.cookie!)('GET', `users/${dev.id}/tokens`)).status).toBe(200);

    idp.accounts.set('u-1004', { preferred_username: 'dev', groups: ['ops'] });
    const again = await ssoSignIn('u-1004');
    expect((await me(again.cookie)).isAdmin).toBe(false);
    // Admin is the account's, not the session's: the older session lost it too.
    expect((await asBrowser(server, made.cookie!)('GET', `users/${dev.id}/tokens`)).status).toBe(403);
    expect((await auditOf(dev.id)).at(-2)).toMatchObject({ action: 'user.sso_update', details: { isAdmin: false } });
  });

  it('never takes over an existing account: a taken user name gets the first free suffix', async () => {
    await userWithPassword(server, 'bob', 'correct horse battery');
    idp.accounts.set('u-2001', { preferred_username: 'admin', name: 'Not the admin' });
    idp.accounts.set('u-2002', { preferred_username: 'Bob@corp.example' });
    idp.accounts.set('u-2003', { preferred_username: 'bob' });
    idp.accounts.set('u-2004', { email: 'José.M+tandem@corp.example' });
    idp.accounts.set('u-2005', {});
    const names = [];
    for (const login of ['u-2001', 'u-2002', 'u-2003', 'u-2004', 'u-2005']) names.push((await me((await ssoSignIn(login)).cookie)).name);
    expect(names).toEqual(['admin-2', 'bob-2', 'bob-3', 'jose.m-tandem', 'u-2005']);
    const admin = (await server.api('GET', 'me')).body;
    expect(admin).toMatchObject({ name: 'admin', isAdmin: true });
    // The password user is untouched: their password still signs them in elsewhere, and nobody else is linked to them.
    const linked = await server.ctx.db.query(
      `SELECT 1 FROM user_identities i JOIN users u ON u.id = i.user_id WHERE u.name IN ('admin', 'bob')`,
    );
    expect(linked).toEqual([]);
  });

  it('two first sign-ins of one person at once make one user', async () => {
    idp.accounts.set('u-3001', { preferred_username: 'twin' });
    const [a, b] = [new Person(), new Person()];
    const callbacks = await Promise.all([a.signInAtProvider(start(), 'u-3001'), b.signInAtProvider(start(), 'u-3001')]);
    const answers = await Promise.all([a.fetch(callbacks[0]!), b.fetch(callbacks[1]!)]);
    expect(answers.map((r) => r.status)).toEqual([303, 303]);
    const users = await server.ctx.db.query(`SELECT name FROM users WHERE name LIKE 'twin%'`);
    expect(users).toEqual([{ name: 'twin' }]);
  });

  it('a deactivated user is refused with a 403 page and no session; their open sessions ended already', async () => {
    idp.accounts.set('u-4001', { preferred_username: 'eve', name: 'Eve' });
    const before = await ssoSignIn('u-4001');
    const eve = await me(before.cookie);
    expect((await server.api('PATCH', `users/${eve.id}`, { body: { active: false } })).status).toBe(200);
    expect((await asBrowser(server, before.cookie!)('GET', 'me')).status).toBe(401);

    idp.accounts.set('u-4001', { preferred_username: 'eve', name: 'Eve Renamed' });
    const refused = await ssoSignIn('u-4001');
    expect(refused.res.status).toBe(403);
    expect(await refused.res.text()).toContain('this account is deactivated; ask an admin');
    expect(refused.cookie).toBeUndefined();
    expect((await server.ctx.auth.getUser(eve.id))?.displayName).toBe('Eve');
  });

  describe('refuses answers that are not this browser’s, with a 400 page and no session', () => {
    it('a callback opened in a browser that did not start the sign-in', async () => {
      idp.accounts.set('u-5001', { preferred_username: 'fay' });
      const callback = await new Person().signInAtProvider(start(), 'u-5001');
      const other = new Person();
      const res = await other.fetch(callback);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('this sign-in was not started in this browser');
      expect(other.cookie(server.url, 'tandem_session')).toBeUndefined();
    });

    it('an attacker’s answer planted in a victim’s own sign-in (login CSRF: state mismatch)', async () => {
      idp.accounts.set('u-5002', { preferred_username: 'mallory' });
      const planted = await new Person().signInAtProvider(start(), 'u-5002');
      const victim = new Person();
      await victim.fetch(start());
      const res = await victim.fetch(planted);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('state mismatch');
      expect(victim.cookie(server.url, 'tandem_session')).toBeUndefined();
    });

    it('a replayed callback, even with the state cookie kept', async () => {
      const person = new Person();
      const callback = await person.signInAtProvider(start(), 'u-5001');
      const state = new URL(callback).searchParams.get('state')!;
      expect((await person.fetch(callback)).status).toBe(303);
      const replay = await fetch(callback, { redirect: 'manual', headers: { cookie: `tandem_oidc=${state}` } });
      expect(replay.status).toBe(400);
      expect(await replay.text()).toContain('this sign-in was already used or has expired');
      expect(replay.headers.getSetCookie().some((c) => c.startsWith('tandem_session='))).toBe(false);
    });

    it('a used code replayed into a new sign-in', async () => {
      const person = new Person();
      const used = new URL(await person.signInAtProvider(start(), 'u-5001'));
      expect((await person.fetch(used.href)).status).toBe(303);
      const fresh = new URL((await person.fetch(start())).headers.get('location')!);
      used.searchParams.set('state', fresh.searchParams.get('state')!);
      const res = await person.fetch(used.href);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/Test ID refused the sign-in: invalid_grant/);
    });

    it('an answer naming another issuer (mix-up)', async () => {
      const person = new Person();
      const callback = new URL(await person.signInAtProvider(start(), 'u-5001'));
      callback.searchParams.set('iss', 'https://evil.example');
      const res = await person.fetch(callback.href);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/the answer from Test ID failed a check: .*iss/);
      expect(person.cookie(server.url, 'tandem_session')).toBeUndefined();
    });

    it('the provider’s refusal (the person cancelled)', async () => {
      const person = new Person();
      const state = new URL((await person.fetch(start())).headers.get('location')!).searchParams.get('state')!;
      const callback = new URL(`${server.url}/tandem/login/oidc/callback`);
      callback.search = new URLSearchParams({
        error: 'access_denied',
        error_description: 'End-User aborted interaction',
        state,
        iss: idp.issuer,
      }).toString();
      const res = await person.fetch(callback.href);
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain('Test ID refused the sign-in: access_denied (End-User aborted interaction)');
      expect(html).toContain('Sign in with Test ID');
    });
  });

  it('refuses to start a sign-in that would end anywhere but this server’s /tandem/ pages (open redirect)', async () => {
    for (const next of [
      '//evil.example/tandem/',
      'https://evil.example/tandem/',
      '/\\evil.example',
      '/tandem/../../evil',
      '/elsewhere',
      'javascript:alert(1)',
    ]) {
      const res = await fetch(start(next), { redirect: 'manual' });
      expect(res.status, next).toBe(400);
      expect(res.headers.get('location'), next).toBeNull();
      expect(res.headers.getSetCookie(), next).toEqual([]);
      expect(await res.text()).toContain('next: must be a path on this server starting with /tandem/');
    }
  });

  it('throttles one address starting many sign-ins (each keeps a row until it expires)', async () => {
    const from = { 'x-forwarded-for': `10.7.7.${++address}` };
    for (let i = 0; i < 100; i++) expect((await fetch(start(), { redirect: 'manual', headers: from })).status).toBe(303);
    const limited = await fetch(start(), { redirect: 'manual', headers: from });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await fetch(start(), { redirect: 'manual', headers: { 'x-forwarded-for': `10.7.7.${++address}` } })).status).toBe(303);
  });

  it('the session survives a server restart on the same database', async () => {
    idp.accounts.set('u-6001', { preferred_username: 'gus' });
    const { cookie } = await ssoSignIn('u-6001');
    await server.close();
    restarted = await startServer({ config: server.ctx.config });
    const res = await fetch(`${restarted.url}/tandem/api/me`, { headers: { cookie: cookie! } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'gus' });
  });
});

describe('a server with both sign-in methods and a provider that answers as another issuer', () => {
  let idp: TestProvider;
  let server: TestServer;

  beforeAll(async () => {
    idp = await startOidcProvider();
    // The provider calls itself 127.0.0.1: reached as localhost, its metadata names another issuer.
    server = await startTestServer({
      db: 'postgres',
      env: idp.env({ TANDEM_AUTH: 'password,oidc', TANDEM_OIDC_ISSUER: idp.issuer.replace('127.0.0.1', 'localhost') }),
    });
    idp.allow(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    await idp?.close();
  });

  it('the sign-in page offers both the provider and the password form', async () => {
    const html = await (await fetch(`${server.url}/tandem/login`)).text();
    expect(html).toContain('Sign in with Test ID</a>');
    expect(html).toContain('<form method="post" action="/tandem/login">');
    await userWithPassword(server, 'hal', 'correct horse battery');
    expect((await signIn(server, 'hal', 'correct horse battery')).status).toBe(201);
  });

  it('starting single sign-on answers 503 naming TANDEM_OIDC_ISSUER, and sends nobody to the provider', async () => {
    const res = await fetch(`${server.url}/tandem/login/oidc?next=/tandem/login`, { redirect: 'manual' });
    expect(res.status).toBe(503);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toMatch(/Test ID is unavailable: discovery at http:\/\/localhost:\d+ failed .*; check TANDEM_OIDC_ISSUER/);
  });
});

describe('single sign-on on embedded PGlite', () => {
  let idp: TestProvider;
  let server: TestServer;

  beforeAll(async () => {
    idp = await startOidcProvider();
    server = await startTestServer({ db: 'pglite', env: idp.env({ TANDEM_OIDC_GROUPS_CLAIM: 'groups' }) });
    idp.allow(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    await idp?.close();
  });

  it('creates the user and their teams, and moves them as the groups change', async () => {
    const signInAs = async (claims: Record<string, unknown>) => {
      idp.accounts.set('p-1', claims);
      const person = new Person();
      expect((await person.fetch(await person.signInAtProvider(`${server.url}/tandem/login/oidc`, 'p-1'))).status).toBe(303);
      return (await asBrowser(server, person.cookie(server.url, 'tandem_session')!)('GET', 'me')).body;
    };
    const first = await signInAs({ preferred_username: 'pia', groups: ['eng', 'ops'] });
    expect(first).toMatchObject({ name: 'pia', teamIds: [expect.any(String), expect.any(String)] });
    const second = await signInAs({ preferred_username: 'pia', groups: ['ops'] });
    expect(second.teamIds).toEqual([(await server.ctx.auth.findTeamByName('ops'))!.id]);
  });
});
