import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openLab, screenshot, startStack, type Stack } from './support/stack.js';

// A 1M-row query result in a real notebook on the Tandem kernel, shown by the table renderer.
const notebook = {
  cells: [
    {
      cell_type: 'code',
      metadata: {},
      execution_count: null,
      outputs: [],
      id: 'query',
      source:
        "import { sql } from '@tandem/kernel';\n" +
        "await sql`select i as id, 'row ' || i as label, case when i % 5 = 0 then null else i / 4 end as score from range(1000000) t(i)`",
    },
  ],
  metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)', language: 'typescript' } },
  nbformat: 4,
  nbformat_minor: 5,
};

describe('the Tandem table renderer in JupyterLab', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
    await writeFile(path.join(stack.lab.rootDir, 'table.ipynb'), JSON.stringify(notebook));
    page = await openLab(browser, stack.labUrl, 'lab/tree/table.ipynb');
    // Running a cell before the kernel answered kernel_info opens the "Select Kernel" dialog.
    await page.locator('.jp-StatusBar-TextItem', { hasText: 'TypeScript (Tandem) | Idle' }).waitFor({ timeout: 90_000 });
    await page.locator('.jp-Cell .jp-InputPrompt').first().click();
    await page.keyboard.press('Shift+Enter');
    await page.locator('.tandem-table').waitFor({ timeout: 90_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('shows a million-row result as its total size, column types and one page of the bounded preview', async () => {
    const table = page.locator('.tandem-table');
    expect(await table.locator('.tandem-table-size').textContent()).toBe(
      '1,000,000 rows × 3 columns · showing a preview of the first 1,000 rows',
    );
    expect(await table.locator('thead .tandem-table-type').allTextContents()).toEqual(['Int64', 'Utf8', 'Float64']);
    expect(await table.locator('.tandem-table-scroll tbody tr').count()).toBe(25);
    expect(await table.locator('.tandem-table-range').textContent()).toBe('rows 1–25 of 1,000 · page 1 of 40');
    expect(await table.locator('tbody tr').first().locator('td').allTextContents()).toEqual(['0', 'row 0', 'null']);
    await screenshot(page, 'table');
  });

  it('sorts by a column header click, within the preview, and says so', async () => {
    const table = page.locator('.tandem-table');
    const id = table.locator('thead th').first();
    await id.locator('button').click();
    await id.locator('button').click();
    expect(await id.getAttribute('aria-sort')).toBe('descending');
    expect(await table.locator('tbody tr').first().locator('td').first().textContent()).toBe('999');
    expect(await table.locator('.tandem-table-note').textContent()).toBe('sorted by id within the preview');
  });

  it('pages through the preview and changes the page size', async () => {
    const table = page.locator('.tandem-table');
    await table.getByRole('button', { name: 'Next page' }).click();
    expect(await table.locator('.tandem-table-range').textContent()).toBe('rows 26–50 of 1,000 · page 2 of 40');
    await table.locator('.tandem-table-page-size').selectOption('100');
    expect(await table.locator('.tandem-table-scroll tbody tr').count()).toBe(100);
    await table.getByRole('button', { name: 'Last page' }).click();
    expect(await table.locator('.tandem-table-range').textContent()).toBe('rows 901–1,000 of 1,000 · page 10 of 10');
  });

  it('shows statistics the kernel computed over the whole result, not just the preview', async () => {
    const table = page.locator('.tandem-table');
    await table.locator('.tandem-table-summary-toggle').click();
    const stats = await table.locator('.tandem-table-summary tbody tr').allTextContents();
    expect(stats[0]).toBe('idInt640 nulls · min 0 · max 999999 · mean 499999.5');
    expect(stats[2]).toContain('200,000 nulls');
    await screenshot(page, 'table-summary');
  });
});
