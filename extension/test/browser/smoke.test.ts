import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openLab, screenshot, startStack, type Stack } from './support/stack.js';

describe('JupyterLab with Tandem', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
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

  it('opens the Models panel from its launcher card, talking to the Tandem server', async () => {
    await page.locator('.jp-LauncherCard', { hasText: 'Models' }).first().click();
    await page.locator('.tandem-models-filter').waitFor({ timeout: 30_000 });
    expect(await page.locator('.jp-ErrorMessage, .tandem-error').count()).toBe(0);
  });
});
