import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../../../server/src/worker/agent.js';
import { launchBrowser, openNotebook, runAllCells, screenshot, startStack, type Stack } from './support/stack.js';

const TRAINING = [
  'import os, time, tandem_job as tj',
  'for epoch in range(4):',
  '    tj.metric(step=epoch, loss=1.0 / (epoch + 1))',
  '    tj.progress(fraction=(epoch + 1) / 4, message=f"epoch {epoch + 1}/4")',
  '    print(f"epoch {epoch + 1}", flush=True)',
  '    time.sleep(0.3)',
  'open(os.path.join(tj.output_dir(), "weights.bin"), "wb").write(b"w")',
].join('\n');

describe('jobs in JupyterLab', () => {
  let stack: Stack;
  let browser: Browser;
  let worker: RunningWorker;
  let page: Page;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
    const { token } = (await stack.server.api('POST', 'tokens', { body: { name: 'w', kind: 'worker' } })).body;
    worker = await startWorker({ serverUrl: stack.tandemUrl, token, gpu: true, spark: false, allowCpu: true, log: () => undefined });
  });
  afterAll(async () => {
    await worker?.stop();
    await browser?.close();
    await stack?.stop();
  });

  it('a cell follows its job live and ends with metrics and the registered model', async () => {
    const source = [
      "import { gpu } from '@tandem/kernel';",
      `const job = await gpu.submit({ script: ${JSON.stringify(TRAINING)}, gpus: 0, name: 'browser training', model: 'browser-model' });`,
      'await job.wait();',
      '`done: ${job.status}`',
    ].join('\n');
    page = await openNotebook(browser, stack.lab, 'train.ipynb', [source]);
    await runAllCells(page);
    await expect.poll(() => page.locator('.jp-OutputArea-output').last().textContent(), { timeout: 90_000 }).toContain('done: succeeded');
    const view = page.locator('.tandem-job');
    expect(await view.count()).toBe(1);
    expect(await view.textContent()).toContain('100 %');
    expect(await view.locator('polyline').count()).toBe(1);
    expect(await view.locator('a[data-tandem-model="browser-model"]').textContent()).toBe('browser-model v1');
    await screenshot(page, 'jobs-cell');
  }, 180_000);

  it('the Jobs panel lists jobs, shows one with its logs, and cancels a running one', async () => {
    const sleeper = (
      await stack.server.api('POST', 'jobs', {
        body: {
          kind: 'gpu',
          name: 'long sleeper',
          spec: { script: 'import time\nprint("sleeping", flush=True)\ntime.sleep(600)', gpus: 0 },
        },
      })
    ).body;
    await page.locator('.jp-SideBar [data-id="tandem-jobs"]').click({ timeout: 60_000 });
    await expect.poll(() => page.locator('.tandem-jobs-item').count(), { timeout: 15_000 }).toBe(2);
    await page.locator('.tandem-jobs-panel select[aria-label="status"]').selectOption('succeeded');
    await expect.poll(() => page.locator('.tandem-jobs-item').count(), { timeout: 15_000 }).toBe(1);
    await page.locator('.tandem-jobs-panel select[aria-label="status"]').selectOption('');

    await page.locator(`[data-job="${sleeper.id}"]`).click();
    await expect.poll(() => page.locator('.tandem-jobs-log').textContent(), { timeout: 30_000 }).toContain('sleeping');
    await page.locator('.tandem-jobs-cancel').click();
    await expect.poll(() => page.locator('.tandem-jobs-detail-header').textContent(), { timeout: 30_000 }).toContain('cancelled');
    expect((await stack.server.api('GET', `jobs/${sleeper.id}`)).body.status).toBe('cancelled');
    await page.locator('.tandem-jobs-retry').click();
    await expect.poll(() => page.locator('.tandem-jobs-log').textContent(), { timeout: 30_000 }).toContain('sleeping');
    await screenshot(page, 'jobs-panel');
    await page.locator('.tandem-jobs-cancel').click();
    await expect.poll(() => page.locator('.tandem-jobs-detail-header').textContent(), { timeout: 30_000 }).toContain('cancelled');
  }, 120_000);
});
