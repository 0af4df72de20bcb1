import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOverHttp } from '../../../server/test/models/support.js';
import { launchBrowser, openLab, openNotebook, runAllCells, screenshot, startStack, type Stack } from './support/stack.js';

describe('Models panel in JupyterLab', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
    for (const [i, auc] of [0.71, 0.78].entries()) {
      const res = await registerOverHttp(
        stack.server,
        'churn-browser',
        { 'model.onnx': `weights ${i}` },
        { metadata: { metrics: { auc, loss: 1 - auc } } },
      );
      expect(res.status).toBe(201);
    }
    expect(
      (await registerOverHttp(stack.server, 'baseline', { 'model.onnx': 'constant' }, { metadata: { metrics: { auc: 0.5 } } })).status,
    ).toBe(201);
    page = await openLab(browser, stack.labUrl);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('lists registered models in the left sidebar, filters them and opens a model page with its versions', async () => {
    await page.locator('.jp-SideBar [data-id="tandem-models"]').click({ timeout: 60_000 });
    await expect.poll(() => page.locator('.tandem-models-item').count(), { timeout: 15_000 }).toBe(2);
    await page.locator('.tandem-models-filter').fill('metric.auc>0.6');
    await expect.poll(() => page.locator('.tandem-models-item').count(), { timeout: 15_000 }).toBe(1);
    await page.locator('[data-model="churn-browser"]').click();
    await expect.poll(() => page.locator('.tandem-models-versions tbody tr').count(), { timeout: 15_000 }).toBe(2);
    expect(await page.locator('.tandem-models-chart polyline').count()).toBe(2);
  }, 90_000);

  it('downloads a version file through a fetch with the Authorization header: its link carries no token', async () => {
    const link = page.locator('.tandem-models-versions a[download]').first();
    const href = (await link.getAttribute('href'))!;
    expect(href).not.toMatch(/token=|tdm_/);
    expect((await fetch(href)).status).toBe(401);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), link.click()]);
    expect(download.url()).toMatch(/^blob:/);
    expect(download.suggestedFilename()).toBe('model.onnx');
    expect(await readFile((await download.path())!, 'utf8')).toMatch(/^weights [01]$/);
  }, 60_000);

  it('sets an alias and moves it to another version', async () => {
    const setAlias = async (version: string) => {
      await page.locator('.tandem-models-alias-name').fill('production');
      await page.locator('.tandem-models-alias-version').selectOption(version);
      await page.locator('.tandem-models-alias-set').click();
    };
    await setAlias('2');
    await expect
      .poll(() => page.locator('.tandem-models-page [data-alias="production"]').textContent(), { timeout: 15_000 })
      .toContain('production → v2');
    await setAlias('1');
    await expect
      .poll(() => page.locator('.tandem-models-page [data-alias="production"]').textContent(), { timeout: 15_000 })
      .toContain('production → v1');
    expect((await stack.server.api('GET', 'models/churn-browser/aliases/production')).body.number).toBe(1);
  }, 60_000);

  it('edits the markdown model card and renders it', async () => {
    await page.locator('.tandem-models-section button', { hasText: 'Edit' }).click();
    await page.locator('.tandem-models-description-editor').fill('# Churn model\n\nPredicts **churn** per customer.');
    await page.locator('.tandem-models-section button', { hasText: 'Save' }).click();
    await expect.poll(() => page.locator('.tandem-models-description h1').textContent(), { timeout: 15_000 }).toContain('Churn model');
    expect((await stack.server.api('GET', 'models/churn-browser')).body.description).toContain('**churn**');
  }, 60_000);

  it('shares the model with a user from the share dialog and shows a clear error for an unknown name', async () => {
    await stack.server.user('dana');
    await page.locator('.tandem-models-page button', { hasText: 'Share…' }).click();
    const dialog = page.locator('.jp-Dialog .tandem-share');
    await dialog.locator('input[aria-label="user or team name"]').fill('nobody-here');
    await dialog.locator('button[type="submit"]').click();
    await expect
      .poll(() => dialog.locator('.tandem-share-error').textContent(), { timeout: 15_000 })
      .toContain('user nobody-here not found');
    await dialog.locator('input[aria-label="user or team name"]').fill('dana');
    await dialog.locator('select[aria-label="role"]').selectOption('editor');
    await dialog.locator('button[type="submit"]').click();
    await expect.poll(() => dialog.locator('.tandem-share-grants').textContent(), { timeout: 15_000 }).toContain('danaeditor');
    await screenshot(page, 'models-share');
    await page.locator('.jp-Dialog button', { hasText: 'Done' }).click();
    const grants = (await stack.server.api('GET', 'models/churn-browser/grants')).body.grants;
    expect(grants.map((g: { name: string; role: string }) => `${g.name}:${g.role}`)).toContain('dana:editor');
  }, 60_000);

  it('refreshes live when someone else registers a version', async () => {
    expect(
      (
        await registerOverHttp(
          stack.server,
          'churn-browser',
          { 'model.onnx': 'weights 3' },
          { metadata: { metrics: { auc: 0.83, loss: 0.17 } } },
        )
      ).status,
    ).toBe(201);
    await expect.poll(() => page.locator('.tandem-models-versions tbody tr').count(), { timeout: 15_000 }).toBe(3);
    await screenshot(page, 'models-panel');
  }, 60_000);

  it('registers a model from a TypeScript notebook cell and shows it in the panel', async () => {
    const source = [
      "import { models } from '@tandem/kernel';",
      "const v = await models.register({ name: 'from-cell', files: { 'model.txt': new TextEncoder().encode('weights') }, metrics: { auc: 0.9 } });",
      '`registered from-cell v${v.number}`',
    ].join('\n');
    const nb = await openNotebook(browser, stack.lab, 'register.ipynb', [source]);
    await runAllCells(nb);
    await expect
      .poll(() => nb.locator('.jp-OutputArea-output').first().textContent(), { timeout: 60_000 })
      .toContain('registered from-cell v1');
    // Its lineage names the notebook's real path on the Jupyter server.
    const lineage = (await stack.server.api('GET', 'models/from-cell/versions/1')).body.lineage;
    expect(lineage.notebook).toMatch(/register\.ipynb$/);
    expect(existsSync(lineage.notebook)).toBe(true);
    await nb.locator('.jp-SideBar [data-id="tandem-models"]').click();
    await nb.locator('[data-model="from-cell"]').waitFor({ timeout: 15_000 });
    await screenshot(nb, 'models-from-cell');
    await nb.close();
  }, 120_000);

  it('updates only the rows that changed when the list refreshes live, so focus stays where it was', async () => {
    const list = await openLab(browser, stack.labUrl);
    await list.locator('.jp-SideBar [data-id="tandem-models"]').click({ timeout: 60_000 });
    const baseline = list.locator('[data-model="baseline"]');
    await baseline.waitFor({ timeout: 15_000 });
    await baseline.evaluate((row) => {
      (row as HTMLElement & { kept?: boolean }).kept = true;
      (row as HTMLElement).focus();
    });
    const changed = list.locator('[data-model="churn-browser"] .tandem-models-version');
    const before = await changed.textContent();
    expect((await registerOverHttp(stack.server, 'churn-browser', { 'model.onnx': 'weights 4' }, { metadata: {} })).status).toBe(201);
    await expect.poll(() => changed.textContent(), { timeout: 15_000 }).not.toBe(before);
    expect(
      await baseline.evaluate((row) => (row as HTMLElement & { kept?: boolean }).kept === true && document.activeElement === row),
    ).toBe(true);
    await list.close();
  }, 120_000);
});
