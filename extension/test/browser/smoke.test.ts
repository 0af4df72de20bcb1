import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOverHttp } from '../../../server/test/models/support.js';
import { launchBrowser, openLab, screenshot, startStack, type Stack } from './support/stack.js';

describe('JupyterLab with Tandem', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
    // Data only the Tandem server has: a model registered through its API, with a metric and an alias.
    const registered = await registerOverHttp(
      stack.server,
      'smoke-churn',
      { 'model.onnx': 'weights' },
      { metadata: { metrics: { auc: 0.91 } } },
    );
    expect(registered.status).toBe(201);
    expect((await stack.server.api('PUT', 'models/smoke-churn/aliases/production', { body: { version: 1 } })).status).toBe(200);
    page = await openLab(browser, stack.labUrl);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('lists the TypeScript (Tandem) kernel in the launcher', async () => {
    const card = page.locator('.jp-LauncherCard[title="TypeScript (Tandem)"]').first();
    await card.waitFor({ timeout: 60_000 });
    expect(await page.locator('.jp-Launcher-sectionTitle', { hasText: 'Notebook' }).count()).toBe(1);
  });

  it('shows a Tandem launcher section with the panels that are installed', async () => {
    const section = page.locator('.jp-Launcher-section', { has: page.locator('.jp-Launcher-sectionTitle', { hasText: /^Tandem$/ }) });
    await section.waitFor({ timeout: 30_000 });
    await expect.poll(() => section.locator('.jp-LauncherCard').allTextContents()).toContain('Models');
    await screenshot(page, 'smoke');
  });

  it('opens the Models panel from its launcher card, listing the model the Tandem server holds', async () => {
    await page.locator('.jp-LauncherCard', { hasText: 'Models' }).first().click();
    const item = page.locator('.tandem-models-item[data-model="smoke-churn"]');
    await item.waitFor({ timeout: 30_000 });
    expect(await item.locator('.tandem-models-item-name').textContent()).toBe('smoke-churnv1');
    expect(await item.locator('.tandem-models-alias').textContent()).toBe('production → v1');
    expect(await item.locator('.tandem-models-item-meta').textContent()).toContain('auc 0.91');
    expect(await page.locator('.tandem-models-status').textContent()).toBe('1 model');
    expect(await page.locator('.jp-ErrorMessage, .tandem-error, .tandem-models-error').count()).toBe(0);
  });
});
