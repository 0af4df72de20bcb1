import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openLab, screenshot, startStack, type Stack } from './support/stack.js';

describe('Experiments panel in JupyterLab', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  const runs: Record<string, string> = {};

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await stack.server.api(method, path, { body });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    return res.body;
  };

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
    page = await openLab(browser, stack.labUrl);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const panel = () => page.locator('#tandem-experiments');
  const row = (name: string) => panel().locator(`tr[data-run="${runs[name]}"]`);

  it('with no experiments yet, the panel shows how to log one from a cell', async () => {
    await page.locator('.jp-SideBar [data-id="tandem-experiments"]').click({ timeout: 60_000 });
    const empty = panel().locator('.tandem-experiments-empty');
    await expect.poll(() => empty.isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await empty.textContent()).toMatch(
      /No experiments yet.*experiments\.run\('my-experiment', async \(run\) =>.*run\.log\(\{ loss/s,
    );
  }, 90_000);

  it('lists the experiment and its runs with status, start, duration and the params and metrics picked', async () => {
    const experiment = await call('POST', 'experiments', { name: 'churn' });
    for (const [name, lr, final] of [
      ['slow', 0.001, 0.7],
      ['fast', 0.1, 0.95],
      ['mid', 0.01, 0.9],
    ] as const) {
      const run = await call('POST', 'runs', { experimentId: experiment.id, name, params: { lr, layers: name === 'fast' ? 4 : 2 } });
      const metrics = Array.from({ length: 10 }, (_, step) => [
        { key: 'acc', value: (final * (step + 1)) / 10, step },
        { key: 'loss', value: 1 / (step + 1) + lr, step },
      ]).flat();
      await call('POST', `runs/${run.id}/log`, { metrics });
      await call('PATCH', `runs/${run.id}`, { status: 'FINISHED' });
      runs[name] = run.id;
    }
    const live = await call('POST', 'runs', { experimentId: experiment.id, name: 'live', params: { lr: 0.05, layers: 2 } });
    await call('POST', `runs/${live.id}/log`, { metrics: [{ key: 'acc', value: 0.1, step: 0 }] });
    runs.live = live.id;

    await panel().locator('.jp-ToolbarButtonComponent').first().click();
    await panel().locator('.tandem-experiments-item', { hasText: 'churn' }).click({ timeout: 15_000 });
    await expect.poll(() => panel().locator('tbody tr').count(), { timeout: 15_000 }).toBe(4);
    expect(await panel().locator('thead th').allTextContents()).toEqual([
      '',
      'Run',
      'Status',
      'Start ▾',
      'Duration',
      'layers',
      'lr',
      'acc',
      'loss',
      '',
    ]);
    expect(await row('fast').textContent()).toMatch(/fast.*FINISHED.*4.*0\.1.*0\.95/);
    expect(await row('live').locator('.tandem-experiments-status-chip').textContent()).toBe('RUNNING');
    expect(await row('slow').locator('.tandem-experiments-duration').textContent()).toMatch(/^\d+\.\ds$/);

    await panel().locator('summary', { hasText: 'Columns' }).click();
    await panel().locator('input[data-column="metrics.loss"]').uncheck();
    await expect.poll(() => panel().locator('thead th[data-column="metrics.loss"]').count()).toBe(0);

    await panel().locator('th[data-column="metrics.acc"]').click();
    await expect
      .poll(() => panel().locator('tbody tr td.tandem-experiments-name').allTextContents(), { timeout: 15_000 })
      .toEqual(['fast', 'mid', 'slow', 'live']);
    await screenshot(page, 'experiments-runs');
  }, 90_000);

  it('a bad filter shows the server’s message naming the token under the box; a good one filters', async () => {
    const filter = panel().locator('.tandem-experiments-filter');
    await filter.fill('metrics.acc >> 0.8');
    await filter.press('Enter');
    const error = panel().locator('.tandem-experiments-filter-error');
    await expect.poll(() => error.textContent(), { timeout: 15_000 }).toMatch(/position \d+ \(found '>'\)/);
    expect(await panel().locator('tbody tr').count()).toBe(4);
    await screenshot(page, 'experiments-filter-error');
    await filter.fill("metrics.acc > 0.8 and params.lr = '0.01'");
    await filter.press('Enter');
    await expect.poll(() => panel().locator('tbody tr td.tandem-experiments-name').allTextContents(), { timeout: 15_000 }).toEqual(['mid']);
    expect(await error.textContent()).toBe('');
    await filter.fill('');
    await filter.press('Enter');
    await expect.poll(() => panel().locator('tbody tr').count(), { timeout: 15_000 }).toBe(4);
  }, 60_000);

  it('a running run’s row follows what it logs, in place; the other rows are left alone', async () => {
    // Marks the nodes: a full redraw would replace them.
    await page.evaluate(() => document.querySelectorAll('#tandem-experiments tbody tr').forEach((tr) => ((tr as any).__kept = true)));
    await call('POST', `runs/${runs.live}/log`, { metrics: [{ key: 'acc', value: 0.99, step: 5 }] });
    await expect.poll(() => row('live').locator('td[data-column="metrics.acc"]').textContent(), { timeout: 15_000 }).toBe('0.99');
    await call('PATCH', `runs/${runs.live}`, { status: 'FINISHED' });
    await expect.poll(() => row('live').locator('.tandem-experiments-status-chip').textContent(), { timeout: 15_000 }).toBe('FINISHED');
    expect(await row('fast').evaluate((tr) => (tr as any).__kept)).toBe(true);
    expect(await row('live').evaluate((tr) => (tr as any).__kept)).toBeUndefined();
  }, 60_000);

  it('compares the selected runs: one curve per run per metric, parallel coordinates, differing params highlighted', async () => {
    for (const name of ['slow', 'fast', 'mid']) await row(name).locator('input[type="checkbox"]').check();
    const compare = panel().locator('.tandem-experiments-compare');
    expect(await compare.textContent()).toBe('Compare (3)');
    await compare.click();
    const view = page.locator('.tandem-experiments-compare-view');
    await expect.poll(() => view.locator('figure[data-metric="acc"] path.tandem-experiments-curve').count(), { timeout: 15_000 }).toBe(3);
    expect(await view.locator('figure[data-metric="loss"] path.tandem-experiments-curve').count()).toBe(3);
    for (const id of [runs.slow, runs.fast, runs.mid]) {
      expect(await view.locator(`figure[data-metric="acc"] path[data-run="${id}"]`).getAttribute('d')).toMatch(
        /^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){9}$/,
      );
    }
    expect(await view.locator('.tandem-experiments-pc-line').count()).toBe(3);
    expect(
      await view.locator('tr.tandem-experiments-differs').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-param'))),
    ).toEqual(['layers', 'lr']);
    await view.locator('input[type="checkbox"]').first().uncheck();
    await expect.poll(() => view.locator('figure[data-metric="acc"]').count()).toBe(0);
    await screenshot(page, 'experiments-compare');
  }, 60_000);

  it('"Register…" lists the run’s artifacts and registers the chosen one as a model version with the run’s lineage', async () => {
    const put = await fetch(`${stack.tandemUrl}/tandem/api/runs/${runs.fast}/artifacts/model/model.onnx`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/octet-stream' },
      body: 'weights',
    });
    expect(put.status).toBe(200);
    await row('fast').locator('.tandem-experiments-register').click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.locator('select[aria-label="Artifact"] option').first().waitFor({ state: 'attached', timeout: 15_000 });
    expect(await dialog.locator('select[aria-label="Artifact"]').inputValue()).toBe('model/model.onnx');
    await dialog.locator('input[aria-label="Model name"]').fill('churn-from-run');
    await dialog.locator('button', { hasText: 'Register' }).click();
    await page.locator('.jp-Dialog:has-text("was registered")').waitFor({ timeout: 15_000 });
    // The version carries the run's lineage.
    const version = await call('GET', 'models/churn-from-run/versions/1');
    expect(version).toMatchObject({ runId: runs.fast, files: [{ path: 'model.onnx' }] });
    await screenshot(page, 'experiments-register');
    await page
      .locator('.jp-Dialog button', { hasText: /Cancel|Close/ })
      .first()
      .click();
  }, 60_000);

  it('"Notebook" opens the shared notebook a run ran from and restores its version, saving the current content first', async () => {
    const cell = { cell_type: 'code', source: 'train()', metadata: {}, execution_count: null, outputs: [] };
    const content = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)' } },
      cells: [cell],
    };
    const notebook = await call('POST', 'notebooks', { name: 'training.ipynb', content });
    const version = await call('POST', `notebooks/${notebook.id}/versions`, { name: 'v1' });
    const experimentId = (await call('GET', `runs/${runs.fast}`)).experimentId;
    const run = await call('POST', 'runs', {
      experimentId,
      name: 'from-notebook',
      notebook: `tandem:${notebook.id}`,
      notebookVersion: version.id,
    });
    runs['from-notebook'] = run.id;
    await row('from-notebook').locator('.tandem-experiments-open-notebook').click({ timeout: 15_000 });
    await expect
      .poll(() => page.evaluate(() => (window as any).jupyterapp.shell.currentWidget?.context?.path), { timeout: 30_000 })
      .toBe('Tandem:training.ipynb');
    const dialog = page.locator('.jp-Dialog', { hasText: 'Restore version “v1”?' });
    await dialog.waitFor({ timeout: 15_000 });
    await screenshot(page, 'experiments-open-notebook-version');
    await dialog.locator('button', { hasText: 'Restore version' }).click();
    await expect
      .poll(async () => (await call('GET', `notebooks/${notebook.id}/versions`)).versions.map((v: { name: string }) => v.name), {
        timeout: 15_000,
      })
      .toEqual(['before restoring v1', 'v1']);
    // A failed restore would show its error in a dialog.
    await page.waitForTimeout(500);
    await screenshot(page, 'experiments-restored');
    expect(await page.locator('.jp-Dialog', { hasText: 'Cannot open' }).count()).toBe(0);
  }, 90_000);
});
