import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleNotebook } from '../../../server/test/dashboards/support.js';
import { startOidcProvider, type TestProvider } from '../../../server/test/support/oidc-provider.js';
import { startTestServer, type TestServer } from '../../../server/test/support/server.js';
import { launchBrowser, screenshot } from './support/stack.js';

// Dashboards are where managers meet Tandem: from a link, in a plain browser, with the company login.
// Only a Tandem server and the provider are needed here, not JupyterLab.
describe('Signing in with single sign-on in Chromium', () => {
  let idp: TestProvider;
  let server: TestServer;
  let browser: Browser;
  let dashboardUrl: string;

  beforeAll(async () => {
    idp = await startOidcProvider();
    [server, browser] = await Promise.all([
      startTestServer({ db: 'postgres', env: idp.env({ TANDEM_OIDC_GROUPS_CLAIM: 'groups' }) }),
      launchBrowser(),
    ]);
    idp.allow(server.url);
    idp.accounts.set('maria-1', { preferred_username: 'maria', name: 'Maria Manager', groups: ['managers'] });
    idp.accounts.set('victor-1', { preferred_username: 'victor', name: 'Victor Viewer', groups: ['sales'] });

    const { api } = server;
    expect((await api('POST', 'teams', { body: { name: 'managers' } })).status).toBe(201);
    expect((await api('POST', 'dashboards', { body: { slug: 'q3', title: 'Q3', notebook: sampleNotebook('Q3') } })).status).toBe(201);
    expect((await api('PUT', 'dashboards/q3/grants', { body: { type: 'team', name: 'managers', role: 'viewer' } })).status).toBe(200);
    dashboardUrl = `${server.url}/tandem/d/q3`;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await idp?.close();
  });

  /** At the provider's development pages: any password, then consent. */
  async function signInAtProvider(page: Page, login: string): Promise<void> {
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();
    await page.locator('button', { hasText: 'Continue' }).click();
  }

  it('a manager with no token opens the team dashboard link, signs in with SSO, sees it, and signing out locks it again', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
    const page = await context.newPage();
    const locked = await page.goto(dashboardUrl);
    expect(locked!.status()).toBe(401);
    expect(await page.locator('h1').textContent()).toBe('Sign in to view this dashboard');

    await page.locator('a', { hasText: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/tandem/login?next=%2Ftandem%2Fd%2Fq3`);
    const button = page.locator('a.sso');
    expect(await button.textContent()).toBe('Sign in with Test ID');
    expect(await page.locator('input[type="password"]').count()).toBe(0);
    await screenshot(page, 'sign-in-page');

    await button.click();
    await signInAtProvider(page, 'maria-1');
    await page.waitForURL(dashboardUrl);
    expect(await page.locator('main h1').textContent()).toBe('Sales report Q3');

    await page.goto(`${server.url}/tandem/login`);
    expect(await page.locator('.who').textContent()).toBe('Signed in as maria.');
    await page.locator('button', { hasText: 'Sign out' }).click();
    await page.waitForURL(`${server.url}/tandem/login`);
    expect(await page.locator('.who').count()).toBe(0);
    const again = await page.goto(dashboardUrl);
    expect(again!.status()).toBe(401);
    expect(await page.locator('h1').textContent()).toBe('Sign in to view this dashboard');
    await context.close();
  });

  it('a viewer outside the team signs in and is refused the private dashboard', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/tandem/login?next=${encodeURIComponent('/tandem/d/q3')}`);
    await page.locator('a.sso').click();
    await signInAtProvider(page, 'victor-1');
    await page.waitForURL(dashboardUrl);
    expect(await page.locator('h1').textContent()).toBe('Dashboard not found');
    expect(await page.content()).not.toContain('Sales report');
    // The browser context's requests carry its cookies: the session is Victor's.
    const me = await (await context.request.get(`${server.url}/tandem/api/me`)).json();
    expect(me).toMatchObject({ name: 'victor', displayName: 'Victor Viewer' });
    expect((await page.goto(dashboardUrl))!.status()).toBe(404);
    await context.close();
  });
});
