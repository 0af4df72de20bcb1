import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { asBrowser, postForm, signIn, userWithPassword } from '../support/sessions.js';

const PASSWORD = 'correct horse battery';

// Sign-in is the door strangers knock on: it must not tell names apart, must slow guessing, and
// a session cookie must not be usable by other sites, other tokens or after it ended.
describe('sessions under attack', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let address = 0;
  /** A fresh client address per guess, so one test's guesses do not trip the per-address limit of another. */
  const from = () => `10.1.0.${++address}`;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    alice = await userWithPassword(server, 'alice', PASSWORD);
  });
  afterAll(() => server.stop());

  it('a wrong password and an unknown name answer the same, in similar time', async () => {
    const wrong = [];
    const unknown = [];
    for (let i = 0; i < 3; i++) {
      wrong.push(await signIn(server, 'alice', 'not the password', { from: from() }));
      unknown.push(await signIn(server, 'nobody-by-this-name', 'not the password', { from: from() }));
    }
    for (const res of [...wrong, ...unknown]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'wrong user name or password' } });
      expect(res.cookie).toBeUndefined();
    }
    // Both pay for one scrypt: neither is several times faster than the other.
    const fastest = (list: { ms: number }[]) => Math.min(...list.map((r) => r.ms));
    expect(fastest(unknown)).toBeGreaterThan(fastest(wrong) / 3);
    expect(fastest(wrong)).toBeGreaterThan(fastest(unknown) / 3);
    // A successful sign-in resets the count of consecutive failures.
    expect((await signIn(server, 'alice', PASSWORD, { from: from() })).status).toBe(201);
  });

  it('ten failures in a row lock the account, even from many addresses; an admin’s password reset lifts it', async () => {
    const lou = await userWithPassword(server, 'lou', PASSWORD);
    for (let i = 0; i < 10; i++) expect((await signIn(server, 'lou', `guess number ${i}`, { from: from() })).status).toBe(401);
    const locked = await signIn(server, 'lou', PASSWORD, { from: from() });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      message: expect.stringMatching(/too many failed sign-ins; try again in 15 minutes/),
    });
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
    const [row] = await server.ctx.db.query<{ locked_until: Date | null }>('SELECT locked_until FROM users WHERE id = $1', [lou.id]);
    expect(row!.locked_until!.getTime()).toBeGreaterThan(Date.now());

    // Unknown names are throttled alike, so the lockout tells nobody which names exist.
    for (let i = 0; i < 10; i++) await signIn(server, 'ghost', `guess number ${i}`, { from: from() });
    const ghost = await signIn(server, 'ghost', PASSWORD, { from: from() });
    expect(ghost.status).toBe(429);
    expect(ghost.body.error.message).toBe(locked.body.error.message);

    expect((await server.api('PUT', `users/${lou.id}/password`, { body: { password: 'a brand new secret' } })).status).toBe(204);
    expect((await signIn(server, 'lou', 'a brand new secret', { from: from() })).status).toBe(201);
  });

  it('one address trying many names is rate-limited (429 with Retry-After), on the page too', async () => {
    const attacker = '10.9.9.9';
    for (let i = 0; i < 30; i++) expect((await signIn(server, `spray-${i}`, 'password123456', { from: attacker })).status).toBe(401);
    const limited = await signIn(server, 'alice', PASSWORD, { from: attacker });
    expect(limited.status).toBe(429);
    expect(limited.cookie).toBeUndefined();
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const page = await postForm(server, '/tandem/login', { name: 'alice', password: PASSWORD }, { 'x-forwarded-for': attacker });
    expect(page.status).toBe(429);
    expect(page.headers.get('retry-after')).toBeTruthy();
    expect(page.headers.getSetCookie()).toEqual([]);
    // Other addresses are unaffected.
    expect((await signIn(server, 'alice', PASSWORD, { from: from() })).status).toBe(201);
  });

  it('cookie-authenticated writes need the CSRF token; reads and Bearer-token writes do not', async () => {
    const { cookie, body } = await signIn(server, 'alice', PASSWORD, { from: from() });
    const noToken = asBrowser(server, cookie!);
    expect((await noToken('GET', 'tokens')).status).toBe(200);
    expect(await noToken('POST', 'tokens', { name: 'forged' })).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', message: expect.stringMatching(/X-CSRF-Token/) } },
    });
    expect((await asBrowser(server, cookie!, 'not-the-token')('POST', 'tokens', { name: 'forged' })).status).toBe(403);
    expect((await asBrowser(server, cookie!, body.csrfToken)('POST', 'tokens', { name: 'real' })).status).toBe(201);
    expect((await server.api('POST', 'tokens', { token: alice.token, body: { name: 'script' } })).status).toBe(201);
    const names = (await noToken('GET', 'tokens')).body.tokens.map((t: { name: string }) => t.name);
    expect(names).not.toContain('forged');
  });

  it('another site cannot sign the browser in (login CSRF)', async () => {
    const res = await postForm(
      server,
      '/tandem/login',
      { name: 'alice', password: PASSWORD },
      { origin: 'https://evil.example', 'x-forwarded-for': from() },
    );
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
    const same = await postForm(
      server,
      '/tandem/login',
      { name: 'alice', password: PASSWORD },
      { origin: server.url, 'x-forwarded-for': from() },
    );
    expect(same.status).toBe(303);
  });

  it('refuses to redirect anywhere but this server’s /tandem/ pages after sign-in', async () => {
    for (const next of [
      '//evil.example/tandem/',
      'https://evil.example/tandem/',
      '/\\evil.example',
      '/tandem/../../evil',
      '/elsewhere',
      'javascript:alert(1)',
    ]) {
      const res = await postForm(server, '/tandem/login', { name: 'alice', password: PASSWORD, next }, { 'x-forwarded-for': from() });
      expect(res.status, next).toBe(400);
      expect(res.headers.get('location'), next).toBeNull();
      expect(res.headers.getSetCookie(), next).toEqual([]);
      expect(await res.text()).toContain('next: must be a path on this server starting with /tandem/');
      expect((await fetch(`${server.url}/tandem/login?next=${encodeURIComponent(next)}`)).status, next).toBe(400);
    }
  });

  it('worker and job tokens cannot use the session routes to become a person', async () => {
    const worker = (await server.api('POST', 'tokens', { body: { name: 'w', kind: 'worker' } })).body.token;
    const job = await server.ctx.auth.createJobToken(alice.id, 'job-1', 60_000);
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    expect((await signIn(server, 'alice', PASSWORD, { from: from(), headers: bearer(worker) })).status).toBe(403);
    expect((await server.api('GET', 'sessions/current', { token: worker })).status).toBe(403);
    expect(
      (await server.api('PUT', 'me/password', { token: worker, body: { current: PASSWORD, password: 'taken over by worker' } })).status,
    ).toBe(403);
    expect(
      (await server.api('PUT', `users/${alice.id}/password`, { token: worker, body: { password: 'taken over by worker' } })).status,
    ).toBe(403);
    expect((await postForm(server, '/tandem/login', { name: 'alice', password: PASSWORD }, bearer(worker))).status).toBe(403);
    expect(
      await server.api('PUT', 'me/password', { token: job, body: { current: PASSWORD, password: 'taken over by a job' } }),
    ).toMatchObject({
      status: 403,
      body: { error: { message: expect.stringMatching(/own token or session/) } },
    });
    // A token has no session to hand out a CSRF token for.
    expect((await server.api('GET', 'sessions/current', { token: alice.token })).status).toBe(401);
    expect((await signIn(server, 'alice', PASSWORD, { from: from() })).status).toBe(201);
  });

  it('deactivating a user ends their sessions at once, and reactivating does not revive them', async () => {
    const dan = await userWithPassword(server, 'dan', PASSWORD);
    const { cookie } = await signIn(server, 'dan', PASSWORD, { from: from() });
    const browser = asBrowser(server, cookie!);
    expect((await browser('GET', 'me')).status).toBe(200);
    expect((await server.api('PATCH', `users/${dan.id}`, { body: { active: false } })).status).toBe(200);
    expect((await browser('GET', 'me')).status).toBe(401);
    expect(await signIn(server, 'dan', PASSWORD, { from: from() })).toMatchObject({
      status: 403,
      body: { error: { message: expect.stringMatching(/deactivated/) } },
    });
    expect((await signIn(server, 'dan', 'wrong password!!', { from: from() })).body.error.message).toBe('wrong user name or password');
    expect((await server.api('PATCH', `users/${dan.id}`, { body: { active: true } })).status).toBe(200);
    expect((await browser('GET', 'me')).status).toBe(401);
  });

  it('a signed-out cookie is anonymous, not an error, and cannot write either', async () => {
    const { cookie, body } = await signIn(server, 'alice', PASSWORD, { from: from() });
    const browser = asBrowser(server, cookie!, body.csrfToken);
    expect((await browser('DELETE', 'sessions/current')).status).toBe(204);
    expect((await browser('POST', 'tokens', { name: 'after sign-out' })).status).toBe(401);
    expect((await browser('DELETE', 'sessions/current')).status).toBe(204);
    const page = await fetch(`${server.url}/tandem/login`, { headers: { cookie: cookie! } });
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain('Signed in as');
  });

  it('the sign-in page has a strict CSP and no script at all', async () => {
    const res = await fetch(`${server.url}/tandem/login`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'none'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/form-action 'self'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).not.toMatch(/<script|\son\w+=|javascript:|https?:\/\//i);
  });

  it('what a sign-in page echoes back is escaped', async () => {
    const res = await postForm(
      server,
      '/tandem/login',
      { name: '"><script>alert(1)</script>', password: 'whatever it is' },
      { 'x-forwarded-for': from() },
    );
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain('<script>');
  });
});
