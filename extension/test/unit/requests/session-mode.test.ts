// TandemClient without a token (session mode) against a real Tandem server: it acts as the person
// signed in in this browser. Node's fetch keeps no cookies, so a small jar stands in for the
// browser's: it stores the session cookie and sends it with requests made with credentials.
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../server/test/support/server.js';
import { userWithPassword } from '../../../../server/test/support/sessions.js';
import { TandemApiError, TandemClient } from '../../../src/requests';

const PASSWORD = 'correct horse battery';

interface Seen {
  method: string;
  path: string;
  credentials?: RequestCredentials;
  authorization: string | null;
  csrf: string | null;
  status: number;
}

/** The browser's cookie jar for one server, installed over the global fetch. */
function cookieJar() {
  const real = globalThis.fetch;
  const jar = { cookie: undefined as string | undefined, seen: [] as Seen[], restore: () => void (globalThis.fetch = real) };
  globalThis.fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (init.credentials === 'include' && jar.cookie) headers.set('cookie', jar.cookie);
    const res = await real(input, { ...init, headers });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('tandem_session='));
    if (set && init.credentials === 'include') jar.cookie = /^tandem_session=;/.test(set) ? undefined : set.split(';')[0];
    jar.seen.push({
      method: init.method ?? 'GET',
      path: new URL(String(input)).pathname.replace('/tandem/api/', ''),
      credentials: init.credentials,
      authorization: headers.get('authorization'),
      csrf: headers.get('x-csrf-token'),
      status: res.status,
    });
    return res;
  };
  return jar;
}

/** Signs the jar's browser in afresh, as the Tandem sign-in page in the popup does. */
async function signInElsewhere(server: TestServer, jar: { cookie?: string }, name: string): Promise<void> {
  jar.cookie = undefined;
  const res = await fetch(`${server.url}/tandem/api/sessions`, {
    method: 'POST',
    credentials: 'include',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: PASSWORD }),
  });
  expect(res.status).toBe(201);
}

describe('TandemClient in session mode (no token)', { timeout: 60_000 }, () => {
  let server: TestServer;
  let jar: ReturnType<typeof cookieJar>;
  let client: TandemClient;
  let changes: (string | null)[];

  beforeAll(async () => {
    server = await startTestServer({ db: 'pglite', env: { TANDEM_AUTH: 'password' } });
    await userWithPassword(server, 'dana', PASSWORD);
  }, 120_000);
  afterAll(() => server?.stop());
  beforeEach(() => {
    jar = cookieJar();
    client = new TandemClient({ url: server.url, token: '' });
    changes = [];
    client.userChanged.connect((_, user) => void changes.push(user?.name ?? null));
  });
  afterEach(() => jar.restore());

  it('is in session mode, and puts no token in URLs', () => {
    expect(client.mode).toBe('session');
    expect(client.authorizedUrl('ws://x/tandem/collab/1')).toBe('ws://x/tandem/collab/1');
    expect(new TandemClient({ url: server.url, token: 'tdm_x' }).authorizedUrl('http://x/d?a=1')).toBe('http://x/d?a=1&token=tdm_x');
  });

  it('before anyone signed in, a request fails with a sign-in prompt and the person is signed out', async () => {
    expect(client.user).toBeUndefined();
    const error = await client.request('models').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TandemApiError);
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED', status: 401, message: expect.stringMatching(/^not signed in to Tandem/) });
    expect(client.user).toBeNull();
    expect(changes).toEqual([null]);
    expect(await client.refreshUser()).toBeNull();
    expect(jar.seen.every((r) => r.credentials === 'include' && r.authorization === null)).toBe(true);
  });

  it('after a sign-in in the popup, finds the person; reads go with the cookie, writes with the session’s CSRF token too', async () => {
    await signInElsewhere(server, jar, 'dana');
    expect((await client.refreshUser())?.name).toBe('dana');
    expect(changes).toEqual(['dana']);
    jar.seen.length = 0;
    await client.request('tokens');
    const created = await client.request<{ id: string }>('tokens', { method: 'POST', json: { name: 'from the browser' } });
    expect(created.id).toBeTruthy();
    expect(jar.seen.map((r) => [r.method, r.path, r.status, r.csrf !== null])).toEqual([
      ['GET', 'tokens', 200, false],
      ['POST', 'tokens', 201, true],
    ]);
  });

  it('fetches the CSRF token again once when the session changed under it (signed in again elsewhere)', async () => {
    await signInElsewhere(server, jar, 'dana');
    await client.refreshUser();
    await signInElsewhere(server, jar, 'dana');
    jar.seen.length = 0;
    await client.request('tokens', { method: 'POST', json: { name: 'after a new sign-in' } });
    expect(jar.seen.map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', 'tokens', 403],
      ['GET', 'sessions/current', 200],
      ['POST', 'tokens', 201],
    ]);
  });

  it('mints kernel tokens for the session, and signing out ends them with it', async () => {
    await signInElsewhere(server, jar, 'dana');
    await client.refreshUser();
    const kernel = await client.mintKernelToken('kernel k1');
    expect((await server.api('GET', 'me', { token: kernel.token })).body.name).toBe('dana');
    await client.signOut();
    expect(client.user).toBeNull();
    expect(changes).toEqual(['dana', null]);
    expect(jar.cookie).toBeUndefined();
    expect((await server.api('GET', 'me', { token: kernel.token })).status).toBe(401);
  });

  it('a session that ended on the server (signed out elsewhere) flips to signed out at the next request', async () => {
    await signInElsewhere(server, jar, 'dana');
    await client.refreshUser();
    const other = new TandemClient({ url: server.url, token: '' });
    await other.signOut();
    await expect(client.request('models')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(changes).toEqual(['dana', null]);
  });
});

describe('TandemClient in single-person mode', { timeout: 60_000 }, () => {
  let server: TestServer;
  let jar: ReturnType<typeof cookieJar>;

  beforeAll(async () => {
    server = await startTestServer({ db: 'pglite' });
  }, 120_000);
  afterAll(() => server?.stop());
  beforeEach(() => (jar = cookieJar()));
  afterEach(() => jar.restore());

  it('trades the sign-in key for a session of the local user', async () => {
    const key = (await readFile(`${server.ctx.config.home}/sign-in-key`, 'utf8')).trim();
    const client = new TandemClient({ url: server.url, token: '', signInKey: key });
    expect(await client.refreshUser()).toBeNull();
    expect((await client.signInWithKey(key)).name).toBe('admin');
    expect(client.user?.name).toBe('admin');
    await expect(client.request('tokens', { method: 'POST', json: { name: 'x' } })).resolves.toMatchObject({ token: expect.any(String) });
  });

  it('a wrong key signs nobody in', async () => {
    const client = new TandemClient({ url: server.url, token: '', signInKey: 'not the key' });
    await expect(client.signInWithKey('not the key')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(client.user).toBeNull();
  });
});

describe('TandemClient in token mode', { timeout: 60_000 }, () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ db: 'pglite' });
  }, 120_000);
  afterAll(() => server?.stop());

  it('names the token’s user, sends no cookie or CSRF token, and a bad token does not sign anyone out', async () => {
    const jar = cookieJar();
    try {
      const client = new TandemClient({ url: server.url, token: server.adminToken });
      expect(client.mode).toBe('token');
      expect((await client.refreshUser())?.name).toBe('admin');
      await client.request('tokens', { method: 'POST', json: { name: 'x' } });
      expect(
        jar.seen.every((r) => r.credentials === undefined && r.csrf === null && r.authorization === `Bearer ${server.adminToken}`),
      ).toBe(true);
      const revoked = new TandemClient({ url: server.url, token: 'tdm_not-a-token' });
      await expect(revoked.request('models')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid or revoked API token' });
    } finally {
      jar.restore();
    }
  });
});
