import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openNotebook, screenshot, startStack, type Stack } from './support/stack.js';

// Gates run on the server itself: no worker is needed for this pipeline.
const DEFINITION = {
  name: 'browser-pipeline',
  parameters: { go: { default: true, description: 'whether the gates pass' } },
  schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' },
  steps: [
    { id: 'check', kind: 'gate', expression: 'params.go == true' },
    { id: 'left', kind: 'gate', needs: ['check'], expression: 'params.go == true' },
    { id: 'right', kind: 'gate', needs: ['check'], expression: 'params.go == true' },
    { id: 'join', kind: 'gate', needs: ['left', 'right'], expression: 'params.go == true' },
  ],
};

describe('pipelines in the Jobs panel', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('lists a pipeline, runs it with its parameters and draws the run’s steps', async () => {
    page = await openNotebook(browser, stack.lab, 'pipelines.ipynb', ['1 + 1']);
    await page.locator('.jp-SideBar [data-id="tandem-jobs"]').click({ timeout: 60_000 });
    await expect.poll(() => page.locator('.tandem-pipelines-empty').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.locator('.tandem-pipelines-empty').textContent()).toContain('pipelines.define');

    const created = await stack.server.api('POST', 'pipelines', { body: DEFINITION });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const item = page.locator(`[data-pipeline="${created.body.id}"]`);
    await expect.poll(() => item.count(), { timeout: 20_000 }).toBe(1);
    expect(await item.textContent()).toContain('0 3 * * * (Europe/Paris)');
    expect(await item.textContent()).toContain('never run');

    await item.click();
    await page.locator('.tandem-pipelines-run-now').click();
    const dialog = page.locator('.jp-Dialog');
    await expect.poll(() => dialog.locator('input[aria-label="go"]').isChecked(), { timeout: 10_000 }).toBe(true);
    await dialog.locator('.jp-mod-accept').click();

    await expect.poll(() => page.locator('.tandem-pipelines-run').count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => page.locator('.tandem-pipelines-run').textContent(), { timeout: 30_000 }).toContain('succeeded');
    const nodes = page.locator('.tandem-pipelines-dag g[data-step]');
    await expect.poll(() => nodes.count(), { timeout: 10_000 }).toBe(4);
    expect(await page.locator('.tandem-pipelines-dag path.tandem-pipelines-edge').count()).toBe(4);
    await expect.poll(() => page.locator('.tandem-pipelines-dag .tandem-pipelines-step-succeeded').count(), { timeout: 30_000 }).toBe(4);
    // The last run's badge in the list follows.
    await expect.poll(() => item.locator('.tandem-jobs-chip').textContent(), { timeout: 30_000 }).toBe('succeeded');
    await screenshot(page, 'pipelines-panel');

    // A step without a job shows its details below the graph.
    await page.locator('.tandem-pipelines-dag g[data-step="check"]').click();
    expect(await page.locator('.tandem-pipelines-step-info').textContent()).toContain('check (gate): succeeded');

    // Retrying a succeeded run is refused: the server's message is shown.
    const runId = (await page.locator('.tandem-pipelines-run').getAttribute('data-run'))!;
    const refused = await stack.server.api('POST', `pipeline-runs/${runId}/retry`);
    expect(refused.status).toBe(409);
    expect(await page.locator('.tandem-pipelines-retry').count()).toBe(0);
  }, 180_000);

  it('defines a pipeline from the panel and edits it; a refused definition shows why and keeps what was typed', async () => {
    await page.locator('.tandem-pipelines-new').click();
    const dialog = page.locator('.jp-Dialog');
    const text = dialog.locator('textarea.tandem-pipelines-definition');
    expect(await text.inputValue()).toContain('name: my-pipeline');
    const cyclic =
      'name: made-in-lab\nsteps:\n  - { id: a, kind: gate, expression: "true", needs: [b] }\n  - { id: b, kind: gate, expression: "true", needs: [a] }\n';
    await text.fill(cyclic);
    await dialog.locator('.jp-mod-accept').click();
    await expect.poll(() => dialog.locator('[role="alert"]').textContent(), { timeout: 10_000 }).toContain('cycle: a -> b -> a');
    expect(await dialog.locator('textarea.tandem-pipelines-definition').inputValue()).toBe(cyclic);

    await dialog
      .locator('textarea.tandem-pipelines-definition')
      .fill('name: made-in-lab\nsteps:\n  - { id: a, kind: gate, expression: "true" }\n');
    await dialog.locator('.jp-mod-accept').click();
    await expect.poll(() => dialog.count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.locator('.tandem-pipelines-detail-header').textContent(), { timeout: 20_000 }).toContain('made-in-lab');
    const listed = (await stack.server.api('GET', 'pipelines')).body.items.find((p: any) => p.name === 'made-in-lab');
    expect(listed.definition.steps.map((s: any) => s.id)).toEqual(['a']);

    await page.locator('.tandem-pipelines-edit').click();
    const current = await dialog.locator('textarea.tandem-pipelines-definition').inputValue();
    expect(JSON.parse(current)).toMatchObject({ name: 'made-in-lab', steps: [{ id: 'a', kind: 'gate' }] });
    await dialog
      .locator('textarea.tandem-pipelines-definition')
      .fill(JSON.stringify({ ...JSON.parse(current), description: 'edited in JupyterLab' }, null, 2));
    await dialog.locator('.jp-mod-accept').click();
    await expect.poll(() => dialog.count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(async () => (await stack.server.api('GET', `pipelines/${listed.id}`)).body.description).toBe('edited in JupyterLab');
    await expect
      .poll(() => page.locator('.tandem-pipelines-detail-header').textContent(), { timeout: 20_000 })
      .toContain('edited in JupyterLab');
  }, 120_000);
});
