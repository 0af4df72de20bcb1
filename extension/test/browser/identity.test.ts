// JupyterLab acts as the person who signed in, and so do their kernels: a JupyterLab with no token
// in its page config, against a Tandem server in password mode, in real Chromium.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOverHttp } from '../../../server/test/models/support.js';
import { startTestServer, type TestServer } from '../../../server/test/support/server.js';
// @ts-expect-error plain ESM helpers shared with the root scripts
import { startJupyterLab } from '../../../scripts/lib/jupyter.mjs';
// @ts-expect-error plain ESM helpers shared with the root scripts
import { freePort, stopProcess } from '../../../scripts/lib/proc.mjs';
// @ts-expect-error plain ESM helpers shared with the root scripts
import { ensureLabExtension } from '../../../scripts/lib/setup-steps.mjs';
import { launchBrowser, openNotebook, runAllCells, screenshot, type Lab } from './support/stack.js';

const PASSWORD = 'correct horse battery';
const CELLS = [
  "import { models, tandemRequest } from '@tandem/kernel';\n`acting as ${(await tandemRequest<{ name: string }>('me')).name}`",
  "const v = await models.register({ name: 'from-dana-cell', files: { 'model.txt': new TextEncoder().encode('w') } });\n`registered v${v.number}`",
  "`acting as ${(await tandemRequest<{ name: string }>('me')).name}`",
];

/** Runs one cell of the notebook in the current tab. */
async function runCell(page: Page, index: number): Promise<void> {
  await page.evaluate(async (i) => {
    const app = (window as any).jupyterapp;
    app.shell.currentWidget.content.activeCellIndex = i;
    await app.commands.execute('notebook:run-cell');
  }, index);
}

describe('JupyterLab signed in as a person', () => {
  let server: TestServer;
  let dana: { id: string; token: string };
  let lab: Lab;
  let browser: Browser;
  let page: Page;
  const status = () => page.locator('.tandem-SignInStatus');
  const output = (i: number) => page.locator('.jp-Notebook .jp-Cell').nth(i).locator('.jp-OutputArea-output');
  const kernelTokens = async () =>
    ((await server.api('GET', `users/${dana.id}/tokens`)).body.tokens as { kind: string; revokedAt: string | null }[]).filter(
      (t) => t.kind === 'kernel',
    );

  beforeAll(async () => {
    await ensureLabExtension();
    // The server must know JupyterLab's origin before either starts, as `npm start` arranges it.
    const labPort = await freePort();
    server = await startTestServer({
      db: 'postgres',
      env: { TANDEM_AUTH: 'password', TANDEM_ALLOWED_ORIGINS: `http://127.0.0.1:${labPort}` },
    });
    const created = await server.api('POST', 'users', { body: { name: 'dana', displayName: 'Dana' } });
    dana = { id: created.body.user.id, token: created.body.token };
    expect((await server.api('PUT', `users/${dana.id}/password`, { body: { password: PASSWORD } })).status).toBe(204);
    expect((await registerOverHttp(server, 'dana-churn', { 'model.onnx': 'weights' }, { token: dana.token })).status).toBe(201);
    expect((await registerOverHttp(server, 'admins-own', { 'model.onnx': 'weights' })).status).toBe(201);

    const home = await mkdtemp(path.join(os.tmpdir(), 'tandem-lab-'));
    const { url, child } = await startJupyterLab({
      port: labPort,
      home,
      rootDir: path.join(home, 'notebooks'),
      tandemUrl: server.url,
      logFile: path.join(home, 'lab.log'),
      pageConfig: { exposeAppInBrowser: true },
    });
    lab = {
      url,
      rootDir: path.join(home, 'notebooks'),
      async stop() {
        await stopProcess(child);
        await rm(home, { recursive: true, force: true });
      },
    };
    browser = await launchBrowser();
    page = await openNotebook(browser, lab, 'identity.ipynb', CELLS);
  });

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
    await server?.stop();
  });

  it('holds no token: the page says nobody is signed in, and the Models panel asks to sign in instead of failing', async () => {
    expect(await page.content()).not.toContain('tdm_');
    await expect.poll(() => status().textContent(), { timeout: 30_000 }).toBe('Sign in to Tandem');
    await page.locator('.jp-SideBar [data-id="tandem-models"]').click();
    await expect.poll(() => page.locator('.tandem-models-status').textContent(), { timeout: 15_000 }).toMatch(/^not signed in to Tandem/);
  });

  it('signs in through the Tandem sign-in page in a popup; the status bar names the person and the Models panel lists their models', async () => {
    const [popup] = await Promise.all([page.waitForEvent('popup'), status().click()]);
    await popup.waitForLoadState();
    expect(popup.url()).toBe(`${server.url}/tandem/login?next=%2Ftandem%2Flogin%2Fdone`);
    await popup.fill('#name', 'dana');
    await popup.fill('#password', PASSWORD);
    await popup.click('button[type="submit"]');
    await expect.poll(() => status().textContent(), { timeout: 30_000 }).toBe('Tandem: Dana');
    // The extension closes the popup once it sees the session.
    await expect.poll(() => popup.isClosed(), { timeout: 10_000 }).toBe(true);
    const items = page.locator('.tandem-models-item');
    await expect.poll(() => items.allTextContents(), { timeout: 15_000 }).toEqual([expect.stringContaining('dana-churn')]);
    await screenshot(page, 'identity-signed-in');
  });

  it('the kernel acts as that person: a model a cell registers and its audit entry name them, not the admin', async () => {
    // The kernel started before the sign-in: it got its token when the person signed in.
    await expect.poll(async () => (await kernelTokens()).length, { timeout: 15_000 }).toBe(1);
    await runAllCells(page);
    await expect.poll(() => output(1).textContent(), { timeout: 60_000 }).toContain('registered v1');
    expect(await output(0).textContent()).toContain('acting as dana');
    const [model] = await server.ctx.db.query<{ id: string; created_by: string }>(
      `SELECT id, created_by FROM models WHERE name = 'from-dana-cell'`,
    );
    expect(model!.created_by).toBe(dana.id);
    const audit = await server.ctx.db.query<{ actor_id: string }>(
      `SELECT actor_id FROM audit_log WHERE action = 'model.create' AND resource_id = $1`,
      [model!.id],
    );
    expect(audit.map((a) => a.actor_id)).toEqual([dana.id]);
  });

  it('signing out ends the kernel’s token with the session; the next cell says to sign in', async () => {
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('tandem:sign-out'));
    await expect.poll(() => status().textContent(), { timeout: 15_000 }).toBe('Sign in to Tandem');
    expect((await kernelTokens()).every((t) => t.revokedAt !== null)).toBe(true);
    await runCell(page, 2);
    await expect.poll(() => output(2).textContent(), { timeout: 30_000 }).toContain('not signed in: sign in to Tandem in JupyterLab');
    await screenshot(page, 'identity-signed-out');
  });
});
