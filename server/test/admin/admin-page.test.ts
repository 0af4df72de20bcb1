import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { asBrowser, postForm, signIn, userWithPassword } from '../support/sessions.js';

const PASSWORD = 'correct horse battery';

describe('the admin page at /tandem/admin', () => {
  let server: TestServer;
  let admin: { cookie: string; csrfToken: string };
  let bob: { id: string; token: string };

  const open = (headers: Record<string, string> = {}, path = '/tandem/admin') =>
    fetch(`${server.url}${path}`, { redirect: 'manual', headers });

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    const me = (await server.api('GET', 'me')).body;
    expect((await server.api('PUT', `users/${me.id}/password`, { body: { password: PASSWORD } })).status).toBe(204);
    const session = await signIn(server, 'admin', PASSWORD);
    admin = { cookie: session.cookie!, csrfToken: session.body.csrfToken };
    bob = await userWithPassword(server, 'bob', PASSWORD);
  });
  afterAll(() => server.stop());

  it('sends an anonymous visitor to sign in and come back', async () => {
    const res = await open();
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/tandem/login?next=/tandem/admin');
    // A cookie of no session, or of an ended one, is anonymous too.
    expect((await open({ cookie: 'tandem_session=forged' })).headers.get('location')).toBe('/tandem/login?next=/tandem/admin');
  });

  it('is not opened by an API token, not even an admin’s: its writes need a session', async () => {
    const asHeader = await open({ authorization: `Bearer ${server.adminToken}` });
    const inLink = await open({}, `/tandem/admin?token=${server.adminToken}`);
    for (const res of [asHeader, inLink]) {
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/tandem/login?next=/tandem/admin');
    }
    const worker = (await server.api('POST', 'tokens', { body: { name: 'agent', kind: 'worker' } })).body;
    expect((await open({ authorization: `Bearer ${worker.token}` })).status).toBe(303);
  });

  it('signing in on the sign-in page leads to it', async () => {
    const res = await postForm(server, '/tandem/login', { name: 'admin', password: PASSWORD, next: '/tandem/admin' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/tandem/admin');
    const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
    expect((await open({ cookie })).status).toBe(200);
  });

  it('shows a signed-in admin the page, under a policy that runs only its own script and style', async () => {
    const res = await open({ cookie: admin.cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    const csp = res.headers.get('content-security-policy')!;
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const directives = Object.fromEntries(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values.join(' ')]),
    );
    expect(directives).toMatchObject({
      'default-src': "'none'",
      'script-src': sha(scripts[0]!),
      'style-src': sha(styles[0]!),
      'connect-src': "'self'",
      'form-action': "'self'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'require-trusted-types-for': "'script'",
    });
    expect(csp).not.toMatch(/unsafe/);
    // No inline handlers and no script from elsewhere; the script builds the page from the API.
    expect(html.replace(/<script>[\s\S]*?<\/script>/, '')).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/<script\s+src/i);
    for (const section of ['Users', 'Teams', 'API tokens', 'Audit log']) expect(html).toContain(`>${section}</h2>`);
    expect(html).toContain('Signed in as <strong>admin</strong>');
  });

  it('hands the page the session’s CSRF token, which its writes must send', async () => {
    const html = await (await open({ cookie: admin.cookie })).text();
    expect(html).toContain(`<meta name="tandem-csrf" content="${admin.csrfToken}">`);
    expect(html).toContain(`name="csrf" value="${admin.csrfToken}"`);
    // What the page does: writes with the cookie and the header succeed, and without the header are refused.
    const withoutHeader = asBrowser(server, admin.cookie);
    expect(await withoutHeader('PUT', `users/${bob.id}/admin`, { isAdmin: true })).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', message: expect.stringMatching(/CSRF/) } },
    });
    expect(await asBrowser(server, admin.cookie, 'a-guess')('PATCH', `users/${bob.id}`, { active: false })).toMatchObject({ status: 403 });
    expect((await server.api('GET', 'me', { token: bob.token })).body).toMatchObject({ isAdmin: false });
    const page = asBrowser(server, admin.cookie, admin.csrfToken);
    expect(await page('PUT', `users/${bob.id}/admin`, { isAdmin: true })).toMatchObject({ status: 200, body: { isAdmin: true } });
    expect(await page('PUT', `users/${bob.id}/admin`, { isAdmin: false })).toMatchObject({ status: 200, body: { isAdmin: false } });
    // Reads need no header.
    expect((await withoutHeader('GET', 'audit?action=user.admin.grant')).body.items).toHaveLength(1);
  });

  it('shows a signed-in non-admin a 403 page without script', async () => {
    const { cookie } = await signIn(server, 'bob', PASSWORD);
    const res = await open({ cookie: cookie! });
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain('<h1>Admins only</h1>');
    expect(html).toContain('<strong>bob</strong> is not one');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('tandem-csrf');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'none'/);
    // The sign-out form is there, so another account can sign in.
    expect(html).toContain('action="/tandem/logout"');
  });

  it('a deactivated admin’s session no longer opens it', async () => {
    const other = await userWithPassword(server, 'root2', PASSWORD);
    expect((await server.api('PUT', `users/${other.id}/admin`, { body: { isAdmin: true } })).status).toBe(200);
    const { cookie } = await signIn(server, 'root2', PASSWORD);
    expect((await open({ cookie: cookie! })).status).toBe(200);
    expect((await server.api('PATCH', `users/${other.id}`, { body: { active: false } })).status).toBe(200);
    expect((await open({ cookie: cookie! })).status).toBe(303);
  });
});
