// JupyterLab acts as the signed-in person, and so do their kernels: kernel tokens minted by the
// browser session, credentialed CORS for listed origins, collaboration sockets on the cookie, and
// the single-person sign-in key.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closed, createNotebook } from '../collab/support.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { asBrowser, signIn, sleep, userWithPassword } from '../support/sessions.js';

const PASSWORD = 'correct horse battery';
const LAB = 'http://127.0.0.1:18888';

interface Browser {
  cookie: string;
  csrfToken: string;
  call: ReturnType<typeof asBrowser>;
}

async function browserOf(server: TestServer, name: string, password = PASSWORD): Promise<Browser> {
  const res = await signIn(server, name, password);
  if (res.status !== 201) throw new Error(`signing in ${name} failed: ${JSON.stringify(res.body)}`);
  return { cookie: res.cookie!, csrfToken: res.body.csrfToken, call: asBrowser(server, res.cookie!, res.body.csrfToken) };
}

async function kernelToken(browser: Browser, name = 'kernel'): Promise<{ id: string; token: string; expiresAt: string }> {
  const res = await browser.call('POST', 'sessions/current/tokens', { name });
  if (res.status !== 201) throw new Error(`minting a kernel token failed: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A collaboration handshake as a browser page at `origin` makes it: the cookie rides along, no token. */
function cookieSocket(server: TestServer, notebookId: string, cookie: string, origin?: string): Promise<WebSocket> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/tandem/collab/${notebookId}`, {
    headers: { cookie, ...(origin ? { origin } : {}) },
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('kernel tokens: minted by a browser session, acting as its person while it lasts', () => {
  let server: TestServer;
  let alice: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres', env: { TANDEM_AUTH: 'password', TANDEM_ALLOWED_ORIGINS: LAB } });
    alice = await userWithPassword(server, 'alice', PASSWORD);
  });
  afterAll(() => server.stop());

  it('minting needs the session cookie and its CSRF token; API tokens and strangers cannot mint', async () => {
    const browser = await browserOf(server, 'alice');
    expect(await asBrowser(server, browser.cookie)('POST', 'sessions/current/tokens', { name: 'forged' })).toMatchObject({
      status: 403,
      body: { error: { message: expect.stringMatching(/X-CSRF-Token/) } },
    });
    expect((await asBrowser(server, browser.cookie, 'not-the-token')('POST', 'sessions/current/tokens', {})).status).toBe(403);
    expect(await server.api('POST', 'sessions/current/tokens', { token: alice.token, body: {} })).toMatchObject({
      status: 403,
      body: { error: { message: expect.stringMatching(/browser session/) } },
    });
    expect((await server.api('POST', 'sessions/current/tokens', { token: null, body: {} })).status).toBe(401);

    const minted = await kernelToken(browser, 'kernel 1234');
    expect(minted.token).toMatch(/^tdm_/);
    // It ends with the session at the latest: the session's absolute expiry (7 days by default).
    expect(new Date(minted.expiresAt).getTime()).toBeGreaterThan(Date.now() + 6.9 * 24 * 3_600_000);
    expect(new Date(minted.expiresAt).getTime()).toBeLessThanOrEqual(Date.now() + 7 * 24 * 3_600_000);
    const listed = (await server.api('GET', 'tokens', { token: alice.token })).body.tokens;
    expect(listed).toContainEqual(expect.objectContaining({ id: minted.id, name: 'kernel 1234', kind: 'kernel', revokedAt: null }));
  });

  it('a kernel token acts as the person on user routes: what it makes and the audit log name them', async () => {
    const token = (await kernelToken(await browserOf(server, 'alice'))).token;
    expect(await server.api('GET', 'me', { token })).toMatchObject({ status: 200, body: { id: alice.id, name: 'alice' } });
    const id = await createNotebook(server, 'from-a-kernel.ipynb', undefined, token);
    expect((await server.api('GET', `notebooks/${id}`, { token: alice.token })).body).toMatchObject({ role: 'owner' });
    const [entry] = await server.ctx.db.query<{ actor_id: string }>(
      `SELECT actor_id FROM audit_log WHERE resource_type = 'notebook' AND resource_id = $1`,
      [id],
    );
    expect(entry!.actor_id).toBe(alice.id);
  });

  it('a kernel token mints nothing, changes no password, opens no socket, and an admin’s is refused on admin routes', async () => {
    const admin = (await server.api('GET', 'me')).body;
    expect((await server.api('PUT', `users/${admin.id}/password`, { body: { password: PASSWORD } })).status).toBe(204);
    const token = (await kernelToken(await browserOf(server, 'admin'))).token;
    expect((await server.api('GET', 'me', { token })).body).toMatchObject({ name: 'admin', isAdmin: true });
    expect(await server.api('GET', `users/${alice.id}/tokens`, { token })).toMatchObject({
      status: 403,
      body: { error: { message: 'a kernel’s token cannot use admin routes' } },
    });
    expect((await server.api('POST', 'users', { token, body: { name: 'mallory' } })).status).toBe(403);
    expect((await server.api('PATCH', `users/${alice.id}`, { token, body: { active: false } })).status).toBe(403);
    expect(await server.api('POST', 'tokens', { token, body: { name: 'escape' } })).toMatchObject({
      status: 403,
      body: { error: { message: 'a kernel’s token cannot create tokens' } },
    });
    expect((await server.api('POST', 'tokens', { token, body: { name: 'escape', kind: 'worker' } })).status).toBe(403);
    expect((await server.api('POST', 'sessions/current/tokens', { token, body: {} })).status).toBe(403);
    expect(
      (await server.api('PUT', 'me/password', { token, body: { current: PASSWORD, password: 'taken over by a kernel' } })).status,
    ).toBe(403);
    const notebook = await createNotebook(server, 'socket.ipynb', undefined, token);
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/tandem/collab/${notebook}?token=${token}`);
    const status = await new Promise<number>((resolve) => socket.once('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(401);
  });

  it('signing out ends the session’s kernel tokens at once, even ones just used', async () => {
    const browser = await browserOf(server, 'alice');
    const kernel = await kernelToken(browser);
    const other = await kernelToken(await browserOf(server, 'alice'));
    expect((await server.api('GET', 'me', { token: kernel.token })).status).toBe(200);
    expect((await browser.call('DELETE', 'sessions/current')).status).toBe(204);
    expect(await server.api('GET', 'me', { token: kernel.token })).toMatchObject({
      status: 401,
      body: { error: { message: 'invalid or revoked API token' } },
    });
    // Only that session's: a kernel of another sign-in goes on.
    expect((await server.api('GET', 'me', { token: other.token })).status).toBe(200);
    const listed = (await server.api('GET', 'tokens', { token: alice.token })).body.tokens;
    expect(listed.find((t: { id: string }) => t.id === kernel.id).revokedAt).not.toBeNull();
    // An ended session mints no more.
    expect((await browser.call('POST', 'sessions/current/tokens', {})).status).toBe(401);
  });

  it('a password change keeps this session’s kernels and ends the other sessions’; an admin’s reset ends all', async () => {
    const bob = await userWithPassword(server, 'bob', PASSWORD);
    const here = await browserOf(server, 'bob');
    const there = await browserOf(server, 'bob');
    const [mine, theirs] = [await kernelToken(here), await kernelToken(there)];
    expect((await here.call('PUT', 'me/password', { current: PASSWORD, password: 'staple gun tuesday' })).status).toBe(204);
    expect((await server.api('GET', 'me', { token: mine.token })).status).toBe(200);
    expect((await server.api('GET', 'me', { token: theirs.token })).status).toBe(401);

    expect((await server.api('PUT', `users/${bob.id}/password`, { body: { password: PASSWORD } })).status).toBe(204);
    expect((await server.api('GET', 'me', { token: mine.token })).status).toBe(401);
    // The person's own API tokens are no session's: they keep working.
    expect((await server.api('GET', 'me', { token: bob.token })).status).toBe(200);
  });

  it('deactivating the person ends their kernel tokens; reactivating does not bring them back', async () => {
    const carol = await userWithPassword(server, 'carol', PASSWORD);
    const kernel = await kernelToken(await browserOf(server, 'carol'));
    expect((await server.api('GET', 'me', { token: kernel.token })).status).toBe(200);
    expect((await server.api('PATCH', `users/${carol.id}`, { body: { active: false } })).status).toBe(200);
    expect((await server.api('GET', 'me', { token: kernel.token })).status).toBe(401);
    expect((await server.api('PATCH', `users/${carol.id}`, { body: { active: true } })).status).toBe(200);
    expect((await server.api('GET', 'me', { token: kernel.token })).status).toBe(401);
  });

  it('credentialed CORS only for the listed origin; other origins get no CORS headers at all', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/tandem/api/sessions/current/tokens`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-csrf-token' },
      });
    const listed = await preflight(LAB);
    expect(listed.headers.get('access-control-allow-origin')).toBe(LAB);
    expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(listed.headers.get('access-control-allow-headers')).toMatch(/X-CSRF-Token/);
    const foreign = await preflight('http://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(foreign.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('the CSRF token is still required for cookie writes from the listed origin', async () => {
    const browser = await browserOf(server, 'alice');
    const res = await server.api('POST', 'sessions/current/tokens', {
      token: null,
      body: {},
      headers: { cookie: browser.cookie, origin: LAB },
    });
    expect(res.status).toBe(403);
  });

  it('collaboration sockets take the session cookie from this server’s and listed origins only; signing out closes them', async () => {
    const browser = await browserOf(server, 'alice');
    const id = await createNotebook(server, 'cookie.ipynb', undefined, alice.token);
    await expect(cookieSocket(server, id, browser.cookie, 'http://evil.example')).rejects.toThrow('HTTP 403');
    await expect(cookieSocket(server, id, browser.cookie)).rejects.toThrow('HTTP 403');
    await expect(cookieSocket(server, id, 'tandem_session=not-a-session', LAB)).rejects.toThrow('HTTP 401');
    const fromLab = await cookieSocket(server, id, browser.cookie, LAB);
    const fromHere = await cookieSocket(server, id, browser.cookie, server.url);
    const [labClosed, hereClosed] = [closed(fromLab), closed(fromHere)];
    expect((await browser.call('DELETE', 'sessions/current')).status).toBe(204);
    expect(await labClosed).toMatchObject({ code: 4401, reason: 'your session ended: sign in again' });
    expect((await hereClosed).code).toBe(4401);
  });

  it('a sign-in popup ends on a page naming the person', async () => {
    const login = await fetch(`${server.url}/tandem/login?next=${encodeURIComponent('/tandem/login/done')}`);
    expect(await login.text()).toContain('value="/tandem/login/done"');
    const anonymous = await fetch(`${server.url}/tandem/login/done`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.text()).toContain('You are not signed in. <a href="/tandem/login?next=%2Ftandem%2Flogin%2Fdone">Sign in</a>');
    const browser = await browserOf(server, 'alice');
    const page = await fetch(`${server.url}/tandem/login/done`, { headers: { cookie: browser.cookie } });
    const html = await page.text();
    expect(html).toContain('Signed in as <strong>alice</strong> (alice). You can close this window.');
    expect(html).not.toContain('<script');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });

  it('there is no sign-in key in team mode (TANDEM_AUTH set)', async () => {
    await expect(stat(path.join(server.ctx.config.home, 'sign-in-key'))).rejects.toThrow(/ENOENT/);
    expect(await server.api('POST', 'sessions/key', { token: null, body: { key: 'anything at all' } })).toMatchObject({
      status: 403,
      body: { error: { message: expect.stringMatching(/only in single-person mode/) } },
    });
  });
});

describe('kernel tokens end at their session’s absolute expiry', () => {
  let server: TestServer;
  const MAX_MS = 2_500;

  beforeAll(async () => {
    server = await startTestServer({
      db: 'postgres',
      env: { TANDEM_AUTH: 'password', TANDEM_SESSION_MAX_HOURS: String(MAX_MS / 3_600_000) },
    });
    await userWithPassword(server, 'dora', PASSWORD);
  });
  afterAll(() => server.stop());

  it('expires with the session, however busy the kernel is', async () => {
    const kernel = await kernelToken(await browserOf(server, 'dora'));
    expect(new Date(kernel.expiresAt).getTime()).toBeLessThanOrEqual(Date.now() + MAX_MS);
    while (Date.now() < new Date(kernel.expiresAt).getTime() - 500) {
      expect((await server.api('GET', 'me', { token: kernel.token })).status).toBe(200);
      await sleep(300);
    }
    // The middleware caches a lookup for 5 s at most: past expiry plus that, it is refused.
    await sleep(Math.max(0, new Date(kernel.expiresAt).getTime() - Date.now()) + 5_200);
    expect((await server.api('GET', 'me', { token: kernel.token })).status).toBe(401);
  });
});

describe('single-person mode (no TANDEM_AUTH): the sign-in key', () => {
  let server: TestServer;
  let key: string;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    key = (await readFile(path.join(server.ctx.config.home, 'sign-in-key'), 'utf8')).trim();
  });
  afterAll(() => server.stop());

  it('is kept in TANDEM_HOME for its owner only', async () => {
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(path.join(server.ctx.config.home, 'sign-in-key'))).mode & 0o777).toBe(0o600);
  });

  it('starts a session for the local user, with the cookie and a CSRF token', async () => {
    const res = await fetch(`${server.url}/tandem/api/sessions/key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { csrfToken: string };
    expect(body).toEqual({ user: expect.objectContaining({ name: 'admin' }), csrfToken: expect.any(String) });
    const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
    const browser = asBrowser(server, cookie, body.csrfToken);
    expect((await browser('GET', 'sessions/current')).body.user.name).toBe('admin');
    expect((await browser('POST', 'sessions/current/tokens', {})).status).toBe(201);
    const [entry] = await server.ctx.db.query<{ details: { method: string } }>(
      `SELECT details FROM audit_log WHERE action = 'user.sign_in' ORDER BY id DESC LIMIT 1`,
    );
    expect(entry!.details.method).toBe('sign-in key');
  });

  it('can do nothing else: it is no API token and no password, and a wrong key starts nothing', async () => {
    expect((await server.api('GET', 'me', { token: key })).status).toBe(401);
    expect((await server.api('GET', `models?token=${key}`, { token: null })).status).toBe(401);
    expect((await signIn(server, 'admin', key)).status).toBe(401);
    const wrong = await server.api('POST', 'sessions/key', { token: null, body: { key: `${key.slice(0, -1)}x` } });
    expect(wrong).toMatchObject({ status: 401, body: { error: { message: 'wrong sign-in key' } } });
    expect((await server.api('POST', 'sessions/key', { token: null, body: {} })).status).toBe(400);
  });

  it('the default `*` origins get no credentialed CORS', async () => {
    const res = await fetch(`${server.url}/tandem/api/me`, { headers: { origin: 'http://127.0.0.1:8888' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8888');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
