import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleNotebook } from '../dashboards/support.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { asBrowser, postForm, signIn, sleep, userWithPassword } from '../support/sessions.js';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'staple gun tuesday';

describe('password sign-in and sessions', () => {
  let server: TestServer;
  let alice: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    alice = await userWithPassword(server, 'alice', PASSWORD);
  });
  afterAll(() => server.stop());

  const auditActions = async (userId: string) =>
    (
      await server.ctx.db.query<{ action: string }>(
        `SELECT action FROM audit_log WHERE resource_type = 'user' AND resource_id = $1 ORDER BY id`,
        [userId],
      )
    ).map((r) => r.action);

  it('signs in with a password: an HttpOnly, SameSite=Lax cookie and a CSRF token, not Secure over http', async () => {
    const res = await signIn(server, 'alice', PASSWORD);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toEqual({
      user: expect.objectContaining({ id: alice.id, name: 'alice', isAdmin: false }),
      csrfToken: expect.any(String),
    });
    expect(res.setCookie).toMatch(/; HttpOnly/);
    expect(res.setCookie).toMatch(/; SameSite=Lax/);
    expect(res.setCookie).toMatch(/; Path=\//);
    expect(res.setCookie).not.toMatch(/Secure/);

    const browser = asBrowser(server, res.cookie!);
    expect(await browser('GET', 'me')).toMatchObject({ status: 200, body: { name: 'alice' } });
    expect(await browser('GET', 'sessions/current')).toMatchObject({
      status: 200,
      body: { user: { name: 'alice' }, csrfToken: res.body.csrfToken },
    });
    expect(await auditActions(alice.id)).toContain('user.sign_in');
  });

  it('the session id is stored only as a hash', async () => {
    const { cookie } = await signIn(server, 'alice', PASSWORD);
    const id = decodeURIComponent(cookie!.split('=')[1]!);
    const dump = JSON.stringify(await server.ctx.db.query('SELECT * FROM sessions'));
    expect(dump).not.toContain(id);
    const [user] = await server.ctx.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [alice.id]);
    expect(user!.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(user!.password_hash).not.toContain(PASSWORD);
  });

  it('signing out ends the session on the server: the old cookie is refused', async () => {
    const { cookie, body } = await signIn(server, 'alice', PASSWORD);
    const browser = asBrowser(server, cookie!, body.csrfToken);
    const out = await fetch(`${server.url}/tandem/api/sessions/current`, {
      method: 'DELETE',
      headers: { cookie: cookie!, 'x-csrf-token': body.csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join()).toMatch(/tandem_session=; Max-Age=0/);
    expect((await browser('GET', 'me')).status).toBe(401);
    expect((await browser('GET', 'sessions/current')).status).toBe(401);
    expect(await auditActions(alice.id)).toContain('user.sign_out');
  });

  it('password rules: at least 12 characters and not the user name, with messages naming the field', async () => {
    expect(await server.api('PUT', `users/${alice.id}/password`, { body: { password: 'short' } })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_ARGUMENT', message: 'body.password: must be at least 12 characters' } },
    });
    const longName = await server.user('averylongname');
    expect(await server.api('PUT', `users/${longName.id}/password`, { body: { password: 'AVeryLongName' } })).toMatchObject({
      status: 400,
      body: { error: { message: 'body.password: must not be the user name' } },
    });
    expect((await server.api('PUT', 'users/nobody/password', { body: { password: NEW_PASSWORD } })).status).toBe(404);
  });

  it('changing one’s password keeps this session, ends the others, and only the new password signs in', async () => {
    const bob = await userWithPassword(server, 'bob', PASSWORD);
    const here = await signIn(server, 'bob', PASSWORD);
    const there = await signIn(server, 'bob', PASSWORD);
    const browser = asBrowser(server, here.cookie!, here.body.csrfToken);

    expect(await browser('PUT', 'me/password', { current: 'not my password', password: NEW_PASSWORD })).toMatchObject({
      status: 403,
      body: { error: { message: 'body.current: wrong password' } },
    });
    expect(await browser('PUT', 'me/password', { current: PASSWORD, password: 'bob' })).toMatchObject({ status: 400 });
    expect((await browser('PUT', 'me/password', { current: PASSWORD, password: NEW_PASSWORD })).status).toBe(204);

    expect((await browser('GET', 'me')).status).toBe(200);
    expect((await asBrowser(server, there.cookie!)('GET', 'me')).status).toBe(401);
    expect((await signIn(server, 'bob', PASSWORD)).status).toBe(401);
    expect((await signIn(server, 'bob', NEW_PASSWORD)).status).toBe(201);
    // API tokens are not sessions: they keep working.
    expect((await server.api('GET', 'me', { token: bob.token })).status).toBe(200);
    expect(await auditActions(bob.id)).toContain('user.password_change');
  });

  it('an admin resetting a password ends all of that user’s sessions', async () => {
    await userWithPassword(server, 'carol', PASSWORD);
    const { cookie } = await signIn(server, 'carol', PASSWORD);
    const carol = (await server.api('GET', 'users?q=carol')).body.users[0];
    expect((await server.api('PUT', `users/${carol.id}/password`, { body: { password: NEW_PASSWORD } })).status).toBe(204);
    expect((await asBrowser(server, cookie!)('GET', 'me')).status).toBe(401);
    expect((await signIn(server, 'carol', NEW_PASSWORD)).status).toBe(201);
    expect(await auditActions(carol.id)).toContain('user.password_reset');
  });

  it('the sign-in page signs in with a form post and goes back to the page asked for', async () => {
    const page = await fetch(`${server.url}/tandem/login?next=${encodeURIComponent('/tandem/d/sales?key=k')}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/tandem/login">');
    expect(html).toContain('value="/tandem/d/sales?key=k"');

    const wrong = await postForm(server, '/tandem/login', { name: 'alice', password: 'nope', next: '/tandem/d/sales' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('wrong user name or password');

    const ok = await postForm(server, '/tandem/login', { name: 'alice', password: PASSWORD, next: '/tandem/d/sales?key=k' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/tandem/d/sales?key=k');
    const cookie = ok.headers.getSetCookie()[0]!.split(';')[0]!;
    expect((await asBrowser(server, cookie)('GET', 'me')).body.name).toBe('alice');
  });

  it('the sign-out form needs the session’s CSRF token, then ends the session', async () => {
    const { cookie, body } = await signIn(server, 'alice', PASSWORD);
    const page = await (await fetch(`${server.url}/tandem/login`, { headers: { cookie: cookie! } })).text();
    expect(page).toContain('Signed in as <strong>alice</strong>');
    expect(page).toContain(`name="csrf" value="${body.csrfToken}"`);

    expect((await postForm(server, '/tandem/logout', {}, { cookie: cookie! })).status).toBe(403);
    expect((await asBrowser(server, cookie!)('GET', 'me')).status).toBe(200);
    const out = await postForm(server, '/tandem/logout', { csrf: body.csrfToken }, { cookie: cookie! });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/tandem/login');
    expect((await asBrowser(server, cookie!)('GET', 'me')).status).toBe(401);
  });

  it('a private dashboard links anonymous visitors to sign in, and opens with the session cookie', async () => {
    const owner = await userWithPassword(server, 'owner', PASSWORD);
    const created = await server.api('POST', 'dashboards', {
      token: owner.token,
      body: { slug: 'sales', title: 'Sales', notebook: sampleNotebook('v1') },
    });
    expect(created.status).toBe(201);
    const anonymous = await fetch(`${server.url}/tandem/d/sales`);
    expect(anonymous.status).toBe(401);
    const html = await anonymous.text();
    expect(html).toContain('Sign in to view this dashboard');
    expect(html).toContain('<a href="/tandem/login?next=%2Ftandem%2Fd%2Fsales">');

    const { cookie } = await signIn(server, 'owner', PASSWORD);
    const signedIn = await fetch(`${server.url}/tandem/d/sales`, { headers: { cookie: cookie! } });
    expect(signedIn.status).toBe(200);
    expect(await signedIn.text()).toContain('Sales report v1');
    // The ?token= link still works for API-token holders.
    const link = await fetch(`${server.url}/tandem/d/sales?token=${owner.token}`, { redirect: 'manual' });
    expect(link.status).toBe(303);
    const dashCookie = link.headers.getSetCookie()[0]!.split(';')[0]!;
    expect((await fetch(`${server.url}/tandem/d/sales`, { headers: { cookie: dashCookie } })).status).toBe(200);
  });
});

describe('session expiry behind an https public URL', () => {
  let server: TestServer;
  const IDLE_MS = 1_200;
  const MAX_MS = 2_880;

  beforeAll(async () => {
    server = await startTestServer({
      db: 'postgres',
      env: {
        TANDEM_PUBLIC_URL: 'https://tandem.example',
        TANDEM_SESSION_IDLE_MINUTES: String(IDLE_MS / 60_000),
        TANDEM_SESSION_MAX_HOURS: String(MAX_MS / 3_600_000),
      },
    });
    await userWithPassword(server, 'dora', PASSWORD);
  });
  afterAll(() => server.stop());

  it('the cookie is Secure when the public URL is https', async () => {
    const { setCookie } = await signIn(server, 'dora', PASSWORD);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; HttpOnly/);
  });

  it('a session left idle ends, one in use does not', async () => {
    const idle = await signIn(server, 'dora', PASSWORD);
    const busy = await signIn(server, 'dora', PASSWORD);
    for (let i = 0; i < 4; i++) {
      await sleep(IDLE_MS / 3);
      expect((await asBrowser(server, busy.cookie!)('GET', 'me')).status).toBe(200);
    }
    expect((await asBrowser(server, idle.cookie!)('GET', 'me')).status).toBe(401);
    // Expired is anonymous, not an error: public pages still answer.
    expect((await fetch(`${server.url}/tandem/login`, { headers: { cookie: idle.cookie! } })).status).toBe(200);
  });

  it('a session ends at its absolute expiry however busy', async () => {
    const busy = await signIn(server, 'dora', PASSWORD);
    // The session was made before this answer came, so it ends before started + MAX_MS.
    const started = Date.now();
    while (Date.now() - started < MAX_MS - 600) {
      expect((await asBrowser(server, busy.cookie!)('GET', 'me')).status).toBe(200);
      await sleep(IDLE_MS / 3);
    }
    await sleep(Math.max(0, MAX_MS + 100 - (Date.now() - started)));
    expect((await asBrowser(server, busy.cookie!)('GET', 'me')).status).toBe(401);
  });
});
