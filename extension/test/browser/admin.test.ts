import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../server/test/support/server.js';
import { userWithPassword } from '../../../server/test/support/sessions.js';
import { launchBrowser, screenshot } from './support/stack.js';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'staple gun tuesday';

// The admin page needs only the Tandem server: no JupyterLab here.
describe('the admin page in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let bob: { id: string; token: string };
  let bobsLaptop: string;
  let carolsToken: string;
  const problems: string[] = [];

  const api = (method: string, path: string, token: string | null, body?: unknown) => server.api(method, path, { token, body });
  const row = (section: string, attribute: string, name: string) => page.locator(`#${section} tbody tr[data-${attribute}="${name}"]`);
  const message = (section: string) => page.locator(`#${section} .messages p`);

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({ db: 'postgres' }), launchBrowser()]);
    const adminId = (await server.api('GET', 'me')).body.id;
    expect((await server.api('PUT', `users/${adminId}/password`, { body: { password: PASSWORD } })).status).toBe(204);
    bob = await userWithPassword(server, 'bob', PASSWORD);
    // Enough history for the audit log to have a second page.
    for (let i = 1; i <= 5; i++) {
      const old = (await api('POST', 'tokens', bob.token, { name: `old-${i}` })).body;
      expect((await api('DELETE', `tokens/${old.id}`, bob.token)).status).toBe(204);
    }
    bobsLaptop = (await api('POST', 'tokens', bob.token, { name: 'laptop' })).body.token;
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    // Anything the page's policy blocks, and any script error, fails the test at the end (the
    // API's refusals the test provokes are logged as failed loads).
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('dialog', (d) => void d.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('an admin signs in with a password on the sign-in page and lands on the admin page', async () => {
    await page.goto(`${server.url}/tandem/admin`);
    expect(page.url()).toBe(`${server.url}/tandem/login?next=/tandem/admin`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/tandem/admin`);
    expect(await page.locator('h1').textContent()).toBe('Tandem admin');
    await expect.poll(() => row('users', 'user', 'bob').count()).toBe(1);
    expect(await row('users', 'user', 'admin').locator('td').nth(2).textContent()).toBe('admin');
    // One cannot lock oneself out from here.
    expect(await page.getByRole('button', { name: 'Deactivate admin' }).isDisabled()).toBe(true);
  });

  it('creates a user with a password, and shows their first token once', async () => {
    const form = page.locator('#create-user');
    await form.getByLabel('User name').fill('carol');
    await form.getByLabel('Display name (optional)').fill('Carol Analyst');
    await form.getByLabel('Password (optional, 12+ characters)').fill(PASSWORD);
    await form.getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => message('users').textContent()).toMatch(/^Created carol with a password\. Their first API token/);
    carolsToken = (await page.locator('#users .messages code.token').textContent())!;
    expect((await api('GET', 'me', carolsToken)).body).toMatchObject({ name: 'carol', displayName: 'Carol Analyst' });
    expect(await row('users', 'user', 'carol').locator('td').nth(3).textContent()).toBe('active');

    // The API's refusals show in the page.
    await form.getByLabel('User name').fill('carol');
    await form.getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => message('users').textContent()).toBe('user carol already exists');
    expect(await message('users').getAttribute('role')).toBe('alert');
    await form.getByLabel('User name').fill('');
  });

  it('resets her password, makes her an admin and back, then deactivates her: her token stops working', async () => {
    const carol = row('users', 'user', 'carol');
    await carol.getByRole('button', { name: 'Reset password of carol' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset the password of carol' });
    await dialog.getByLabel('New password').fill(NEW_PASSWORD);
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => message('users').textContent()).toBe('Set a new password for carol; their sessions have ended.');
    expect(await dialog.isVisible()).toBe(false);
    const signIn = (password: string) =>
      fetch(`${server.url}/tandem/api/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'carol', password }),
      }).then((r) => r.status);
    expect(await signIn(PASSWORD)).toBe(401);
    expect(await signIn(NEW_PASSWORD)).toBe(201);

    await carol.getByRole('button', { name: 'Make admin carol' }).click();
    await expect.poll(() => carol.locator('td').nth(2).textContent()).toBe('admin');
    await carol.getByRole('button', { name: 'Remove admin carol' }).click();
    await expect.poll(() => carol.locator('td').nth(2).textContent()).toBe('');

    expect((await api('GET', 'me', carolsToken)).status).toBe(200);
    await carol.getByRole('button', { name: 'Deactivate carol' }).click();
    await expect.poll(() => carol.locator('td').nth(3).textContent()).toBe('deactivated');
    expect(await message('users').textContent()).toBe('Deactivated carol: their tokens and sessions no longer work.');
    expect((await api('GET', 'me', carolsToken)).status).toBe(401);
  });

  it('creates a team and adds a member', async () => {
    await page.locator('#create-team').getByLabel('Team name').fill('analysts');
    await page.locator('#create-team').getByRole('button', { name: 'Create team' }).click();
    await expect.poll(() => message('teams').textContent()).toBe('Created team analysts.');
    const team = row('teams', 'team', 'analysts');
    await team.getByLabel('User to add to analysts').fill('bob');
    await team.getByRole('button', { name: 'Add to analysts' }).click();
    await expect.poll(() => message('teams').textContent()).toBe('Added bob to analysts.');
    await expect.poll(() => team.locator('ul.members li').allTextContents()).toEqual(['admin Remove', 'bob Remove']);
    await team.getByRole('button', { name: 'Remove admin from analysts' }).click();
    await expect.poll(() => team.locator('ul.members li').allTextContents()).toEqual(['bob Remove']);
    expect((await api('GET', 'me', bob.token)).body.teamIds).toHaveLength(1);
  });

  it('lists a user’s tokens and revokes one: it stops working, the others do not', async () => {
    await page.locator('#token-owner').getByLabel('User name').fill('bob');
    await page.locator('#token-owner').getByRole('button', { name: 'Show tokens' }).click();
    await expect.poll(() => page.locator('#tokens caption').textContent()).toBe('API tokens of bob');
    expect(await page.locator('#tokens tbody tr td:first-child').allTextContents()).toEqual([
      'laptop',
      'old-5',
      'old-4',
      'old-3',
      'old-2',
      'old-1',
      'initial',
    ]);
    expect(await row('tokens', 'token', 'old-1').getByRole('button').count()).toBe(0);
    expect((await api('GET', 'me', bobsLaptop)).status).toBe(200);
    await row('tokens', 'token', 'laptop').getByRole('button', { name: 'Revoke token laptop' }).click();
    await expect.poll(() => row('tokens', 'token', 'laptop').locator('td').nth(4).textContent()).toMatch(/^revoked \d{4}-/);
    expect(await message('tokens').textContent()).toBe('Revoked bob’s token laptop: it no longer works.');
    expect((await api('GET', 'me', bobsLaptop)).status).toBe(401);
    expect((await api('GET', 'me', bob.token)).status).toBe(200);
  });

  it('finds those actions in the audit log, filtered by actor, and by action', async () => {
    const filter = page.locator('#audit-filter');
    await filter.getByLabel('Who').fill('admin');
    await filter.getByRole('button', { name: 'Filter' }).click();
    const actions = () => page.locator('#audit tbody tr td:nth-child(3)').allTextContents();
    await expect
      .poll(actions)
      .toEqual([
        'token.revoke',
        'team.member.remove',
        'team.member.add',
        'team.create',
        'user.deactivate',
        'user.admin.revoke',
        'user.admin.grant',
        'user.password_reset',
        'user.password_reset',
        'token.create',
        'user.create',
        'user.sign_in',
        'user.password_reset',
        'token.create',
        'user.create',
        'user.password_reset',
      ]);
    expect(new Set(await page.locator('#audit tbody tr td:nth-child(2)').allTextContents())).toEqual(new Set(['admin']));
    expect(await page.locator('#audit .where').textContent()).toBe('1–16 of 16');
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'admin-page');
    await page.locator('#audit').scrollIntoViewIfNeeded();
    await screenshot(page, 'admin-audit-log');

    await filter.getByLabel('Action').fill('user.deactivate');
    await filter.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(actions).toEqual(['user.deactivate']);
    const carolId = (await api('GET', 'admin/users?q=carol', server.adminToken)).body.items[0].id;
    expect(await page.locator('#audit tbody tr td:nth-child(4)').textContent()).toBe(`user ${carolId}`);

    // A bad filter is the API's refusal, shown in the page.
    await filter.getByLabel('Action').fill('Not An Action');
    await filter.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => message('audit').textContent()).toMatch(/^query\.action: expected a dotted action name/);
    await filter.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(async () => (await actions()).length).toBe(25);
    expect(await page.locator('#audit .pager button', { hasText: 'Next' }).isEnabled()).toBe(true);
    await page.locator('#audit .pager button', { hasText: 'Next' }).click();
    await expect.poll(() => page.locator('#audit .where').textContent()).toBe('26–31 of 31');
    expect(await page.locator('#audit .pager button', { hasText: 'Next' }).isDisabled()).toBe(true);
    await page.locator('#audit .pager button', { hasText: 'Previous' }).click();
    await expect.poll(() => page.locator('#audit .where').textContent()).toBe('1–25 of 31');
    expect(problems).toEqual([]);
  });

  it('a signed-in non-admin gets the 403 page, and strangers the sign-in page', async () => {
    const context = await browser.newContext();
    const other = await context.newPage();
    await other.goto(`${server.url}/tandem/login?next=/tandem/admin`);
    await other.getByLabel('User name').fill('bob');
    await other.getByLabel('Password').fill(PASSWORD);
    const [answer] = await Promise.all([
      other.waitForResponse((r) => r.url() === `${server.url}/tandem/admin`),
      other.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    expect(answer.status()).toBe(403);
    expect(await other.locator('h1').textContent()).toBe('Admins only');
    await screenshot(other, 'admin-page-forbidden');
    await other.getByRole('button', { name: 'Sign out' }).click();
    await other.waitForURL(`${server.url}/tandem/login`);
    await other.goto(`${server.url}/tandem/admin`);
    expect(other.url()).toBe(`${server.url}/tandem/login?next=/tandem/admin`);
    await context.close();
  });
});
