import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linear, registerOnnx } from '../../../server/test/serving/onnx.js';
import { launchBrowser, openLab, screenshot, startStack, type Stack } from './support/stack.js';

describe('Serving a model from its page in JupyterLab', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let secret = '';
  const signature = {
    inputs: [
      { name: 'tenure', type: 'Float32' },
      { name: 'spend', type: 'Float32' },
    ],
    outputs: [{ name: 'score', type: 'Float32' }],
  };
  const endpoint = () => `${stack.tandemUrl}/tandem/serve/admin%2Fscorer/prod/predict`;
  const predict = (key: string) =>
    fetch(endpoint(), {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rows: [{ tenure: 1, spend: 1 }] }),
    });

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
    await registerOnnx(stack.server, 'scorer', linear([2, -1], 0.5), { signature });
    expect((await stack.server.api('PUT', 'models/scorer/aliases/prod', { body: { version: 1 } })).status).toBe(200);
    page = await openLab(browser, stack.labUrl);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('serves an alias from the model page and shows it ready, with curl and TypeScript examples of its signature', async () => {
    await page.locator('.jp-SideBar [data-id="tandem-models"]').click({ timeout: 60_000 });
    await page.locator('[data-model="scorer"]').click({ timeout: 15_000 });
    await expect.poll(() => page.locator('.tandem-serving-empty').count(), { timeout: 15_000 }).toBe(1);
    await page.locator('.tandem-serving-alias').selectOption('prod');
    await page.locator('.tandem-serving-serve-button').click();
    const state = page.locator('[data-alias="prod"] .tandem-serving-state');
    await expect.poll(() => state.getAttribute('data-state'), { timeout: 20_000 }).toBe('ready');
    expect(await state.textContent()).toBe('ready · serving v1');
    expect(await page.locator('.tandem-serving-endpoint').textContent()).toBe(`POST ${endpoint()}`);
    const curl = (await page.locator('.tandem-serving-curl').textContent())!;
    expect(curl).toContain(`-d '{"rows":[{"tenure":0,"spend":0}]}'`);
    expect(curl).toContain(`'${endpoint()}'`);
    expect(await page.locator('.tandem-serving-fetch').textContent()).toContain('{"tenure":0,"spend":0}');
    expect((await stack.server.api('GET', 'deployments?model=scorer')).body.items).toHaveLength(1);
  }, 90_000);

  it('saves changed settings, the prediction log’s share among them', async () => {
    expect(await page.locator('.tandem-serving-logs').textContent()).toContain('Prediction log: off');
    await page.locator('.tandem-serving-settings input[name="maxBatchSize"]').fill('16');
    await page.locator('.tandem-serving-settings input[name="logSampleRate"]').fill('0.5');
    await page.locator('.tandem-serving-settings button[type="submit"]').click();
    await expect
      .poll(async () => (await stack.server.api('GET', 'deployments?model=scorer')).body.items[0], { timeout: 15_000 })
      .toMatchObject({ maxBatchSize: 16, logSampleRate: 0.5 });
    await expect.poll(() => page.locator('.tandem-serving-logs').textContent(), { timeout: 15_000 }).toContain('50% of requests');
    await page.locator('.tandem-serving-show-logs').click();
    await expect
      .poll(() => page.locator('.tandem-serving-log-files li').first().textContent(), { timeout: 15_000 })
      .toContain('No files yet');
  }, 60_000);

  it('creates a key shown once in a dialog; the key predicts, and once revoked it is refused with 401', async () => {
    await page.locator('.tandem-serving-key-name').fill('web-app');
    await page.locator('.tandem-serving-create-key').click();
    const shown = page.locator('.jp-Dialog .tandem-serving-secret');
    await expect.poll(() => shown.count(), { timeout: 15_000 }).toBe(1);
    secret = (await shown.textContent())!;
    expect(secret).toMatch(/^tdk_/);
    await screenshot(page, 'serving-key');
    await page.locator('.jp-Dialog button', { hasText: 'Done' }).click();
    await expect.poll(() => page.locator('.tandem-serving-keys li').textContent(), { timeout: 15_000 }).toContain('web-app');
    const res = await predict(secret);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ predictions: [1.5], version: 1 });
    await screenshot(page, 'serving-section');
    await page.locator('.tandem-serving-revoke').click();
    await expect.poll(() => page.locator('.tandem-serving-keys li').count(), { timeout: 15_000 }).toBe(0);
    expect((await predict(secret)).status).toBe(401);
  }, 60_000);

  it('sends a share of requests to a canary version, shows each version’s traffic, and promotes the canary to the alias', async () => {
    expect((await registerOnnx(stack.server, 'scorer', linear([2, -1], 1.5), { signature })).number).toBe(2);
    const canary = page.locator('.tandem-serving-split[data-split="canary"]');
    await expect.poll(() => canary.locator('option[value="2"]').count(), { timeout: 15_000 }).toBe(1);
    await canary.locator('select').selectOption('2');
    await canary.locator('input[name="percent"]').fill('50');
    await canary.locator('button[type="submit"]').click();
    const line = page.locator('.tandem-serving-split-line[data-split="canary"]');
    await expect.poll(() => line.textContent(), { timeout: 20_000 }).toBe('Canary v2 · 50% · ready · serving v2');
    const answers = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const res = await predict(stack.token);
      expect(res.status).toBe(200);
      answers.add((await res.json()).version);
    }
    expect([...answers].sort()).toEqual([1, 2]);
    const traffic = page.locator('table.tandem-serving-traffic');
    await expect.poll(() => traffic.locator('tbody tr').count(), { timeout: 15_000 }).toBe(2);
    expect(await traffic.locator('tbody tr[data-split="canary"] td').nth(1).textContent()).toBe('v2');
    await screenshot(page, 'serving-canary');
    await canary.locator('.tandem-serving-promote').click();
    await page.locator('.jp-Dialog button', { hasText: 'Promote' }).click();
    const state = page.locator('[data-alias="prod"] .tandem-serving-state');
    await expect.poll(() => state.textContent(), { timeout: 20_000 }).toBe('ready · serving v2');
    expect(await line.count()).toBe(0);
    expect((await stack.server.api('GET', 'deployments?model=scorer')).body.items[0]).toMatchObject({ aliasVersion: 2, canary: null });
  }, 90_000);

  it('shows a viewer the status, traffic and examples read-only: no Serve, splits, settings, log, keys or Delete', async () => {
    const vera = await stack.server.user('vera');
    const grant = { body: { type: 'user', name: 'vera', role: 'viewer' } };
    expect((await stack.server.api('PUT', 'models/scorer/grants', grant)).status).toBe(200);
    const lab = await stack.addLab({ tandemToken: vera.token });
    const viewer = await openLab(browser, lab.url);
    try {
      await viewer.locator('.jp-SideBar [data-id="tandem-models"]').click({ timeout: 60_000 });
      await viewer.locator('[data-model="scorer"]').click({ timeout: 15_000 });
      const state = viewer.locator('[data-alias="prod"] .tandem-serving-state');
      await expect.poll(() => state.getAttribute('data-state'), { timeout: 15_000 }).toBe('ready');
      expect(await viewer.locator('.tandem-serving-curl').textContent()).toContain(endpoint());
      expect(await viewer.locator('.tandem-serving-settings input[name="maxBatchSize"]').isDisabled()).toBe(true);
      await expect.poll(() => viewer.locator('table.tandem-serving-traffic tbody tr').count(), { timeout: 15_000 }).toBeGreaterThan(0);
      const hidden = [
        '.tandem-serving-serve',
        '.tandem-serving-delete',
        '.tandem-serving-keys',
        '.tandem-serving-settings button',
        '.tandem-serving-splits',
      ];
      for (const selector of hidden) expect(await viewer.locator(selector).count()).toBe(0);
    } finally {
      await viewer.close();
    }
  }, 120_000);

  it('deletes the deployment after a confirmation: the endpoint stops answering', async () => {
    await page.locator('.tandem-serving-delete').click();
    await page.locator('.jp-Dialog button', { hasText: 'Delete' }).click();
    await expect.poll(() => page.locator('.tandem-serving-empty').count(), { timeout: 15_000 }).toBe(1);
    expect((await predict(stack.token)).status).toBe(404);
  }, 60_000);
});
