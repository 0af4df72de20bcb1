import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../../../server/src/worker/agent.js';
import { launchBrowser, openNotebook, runAllCells, screenshot, setTheme, startStack, type Stack } from './support/stack.js';

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
    worker = await startWorker({
      serverUrl: stack.tandemUrl,
      token,
      gpu: true,
      spark: true,
      sparkMaster: 'local[1]',
      allowCpu: true,
      log: () => undefined,
    });
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

  it('a Spark job shown as a cell’s value updates in place from queued to succeeded, and await job.wait() ends with a compact card', async () => {
    const sources = [
      [
        "import { spark } from '@tandem/kernel';",
        "import path from 'node:path';",
        "const data = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'cars.json');",
      ].join('\n'),
      [
        'const job = await spark.train({',
        "  data, label: 'Origin', features: ['Horsepower', 'Weight_in_lbs', 'Acceleration'],",
        "  algorithm: 'random_forest', params: { numTrees: 10 }, model: 'browser-spark',",
        '});',
        'job',
      ].join('\n'),
      'await job.wait();',
    ];
    const lab = await openNotebook(browser, stack.lab, 'spark.ipynb', sources);
    // Every state the job's card in the second cell was drawn with, as JupyterLab renders them.
    await lab.evaluate(() => {
      const seen: string[] = ((window as any).tandemCardStates = []);
      new MutationObserver(() => {
        const status = document.querySelectorAll('.jp-CodeCell')[1]?.querySelector('.tandem-job .tandem-job-status')?.textContent;
        if (status && seen.at(-1) !== status) seen.push(status);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    // Running all cells resolves once the last one (the wait) has finished: look at the card meanwhile.
    const ran = runAllCells(lab);
    const card = lab.locator('.jp-CodeCell').nth(1).locator('.jp-OutputArea-output');
    const waited = lab.locator('.jp-CodeCell').nth(2).locator('.jp-OutputArea-output');
    // A loaded machine may take minutes to start the kernel, upload the data and start Spark.
    try {
      await expect.poll(() => card.locator('.tandem-job-status').textContent(), { timeout: 240_000 }).toMatch(/^(running|succeeded)/);
    } catch (error) {
      await screenshot(lab, 'jobs-spark-stuck');
      throw error;
    }
    await screenshot(lab, 'jobs-spark-running');
    await expect.poll(() => card.locator('.tandem-job-status').textContent(), { timeout: 300_000 }).toMatch(/^succeeded in /);
    await ran;

    // One card, updated in place after its cell had finished: queued, then running, then succeeded.
    expect(await card.count()).toBe(1);
    const states: string[] = await lab.evaluate(() => (window as any).tandemCardStates);
    expect(states[0]).toBe('queued');
    expect(states.some((s) => s.startsWith('running'))).toBe(true);
    expect(states.at(-1)).toMatch(/^succeeded in /);
    const finalCard = (await card.textContent())!;
    expect(finalCard).toMatch(/done: \d+ Spark jobs?, (\d+)\/\1 tasks/);
    expect(finalCard).toMatch(/accuracy \d\.\d+/);
    expect(finalCard).toMatch(/train rows \d+/);
    // Numbers are shown plainly, never as 1e-3; the job's id (a UUID, which may hold "9e-9") is not a number.
    expect(finalCard.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '')).not.toMatch(/\de[+-]\d/);
    expect(finalCard).not.toMatch(/\bloss\b/);

    // The waiting cell: the live view (with the log), then the value of wait() as a compact card, not an object dump.
    await expect.poll(() => waited.count(), { timeout: 60_000 }).toBe(2);
    expect(await waited.first().locator('.tandem-job details').count()).toBe(1);
    const value = waited.last();
    expect(await value.locator('.tandem-job').count()).toBe(1);
    expect(await value.locator('a[data-tandem-model="browser-spark"]').textContent()).toBe('browser-spark v1');
    const text = (await value.textContent())!;
    expect(text).toMatch(/succeeded in /);
    expect(text).not.toMatch(/createdAt|leaseExpiresAt|\{/);
    const log = (await waited.first().locator('.tandem-job details pre').textContent())!;
    expect(log).not.toMatch(/INFO|WARN|log4j|incubator|netlib|\tat org\./);
    await screenshot(lab, 'jobs-spark-cell');

    await setTheme(lab, 'JupyterLab Dark');
    await screenshot(lab, 'jobs-spark-cell-dark');
    await setTheme(lab, 'JupyterLab Light');
    await lab.close();
  }, 600_000);
});
