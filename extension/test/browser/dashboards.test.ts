import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleNotebook, xssNotebook } from '../../../server/test/dashboards/support.js';
import { launchBrowser, openLab, screenshot, setTheme, startStack, type Stack } from './support/stack.js';

describe('Dashboards in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let linkKey: string;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
    const api = stack.server.api;
    expect(
      (
        await api('POST', 'dashboards', {
          body: { slug: 'sales', title: 'Sales', description: 'Weekly **numbers** for managers', notebook: sampleNotebook('week 47') },
        })
      ).status,
    ).toBe(201);
    expect((await api('POST', 'dashboards', { body: { slug: 'hostile', title: 'Hostile outputs', notebook: xssNotebook() } })).status).toBe(
      201,
    );
    linkKey = (await api('POST', 'dashboards/sales/link')).body.key;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('a viewer with the share link sees the dashboard: markdown, chart, text, and a table that sorts and pages', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${stack.tandemUrl}/tandem/d/sales?key=${linkKey}`);
    await expect(page.locator('h1').first().textContent()).resolves.toBe('Sales');
    expect(await page.locator('main h1').textContent()).toBe('Sales report week 47');
    expect(await page.locator('.stamp').textContent()).toMatch(/Last refreshed \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const firstCells = () => page.locator('.table tbody tr td:first-child').allTextContents();
    expect((await firstCells()).slice(0, 2)).toEqual(['r0', 'r1']);
    await page.locator('.pager button', { hasText: 'Next' }).click();
    await expect.poll(async () => (await firstCells())[0]).toBe('r25');
    await page.locator('th', { hasText: 'revenue' }).click();
    await page.locator('th', { hasText: 'revenue' }).click();
    await expect.poll(async () => (await firstCells())[0]).toBe('r39');
    expect(await page.locator('.pager span').last().textContent()).toBe('page 1 of 2');
    expect(await page.locator('rect[fill="steelblue"]').count()).toBe(1);
    expect(await page.content()).not.toContain('salaries');
    expect(errors).toEqual([]);
    await screenshot(page, 'dashboard-viewer');
    await page.close();
  });

  it('no hostile output runs script: script tags, onerror, javascript: links, SVG script, iframes, markdown HTML', async () => {
    const page = await browser.newPage();
    // Whatever the sanitizer let through would meet the page's Content-Security-Policy: collect every
    // violation, from the console and from the DOM's securitypolicyviolation events.
    const violations: string[] = [];
    page.on('console', (m) => /Content Security Policy/.test(m.text()) && violations.push(m.text()));
    await page.exposeBinding('__tandemCspViolation', (_source, text: string) => violations.push(text));
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as unknown as { __tandemCspViolation(text: string): void }).__tandemCspViolation(
          `securitypolicyviolation: ${e.violatedDirective} blocked ${e.blockedURI}`,
        ),
      ),
    );
    await page.goto(`${stack.tandemUrl}/tandem/d/hostile?token=${stack.token}`);
    await page.waitForLoadState('load');
    expect(page.url()).toBe(`${stack.tandemUrl}/tandem/d/hostile`);
    await page.waitForTimeout(500);
    for (const link of await page.locator('a').all()) await link.click({ timeout: 2000, modifiers: [] }).catch(() => undefined);
    await page
      .locator('details summary')
      .first()
      .click()
      .catch(() => undefined);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.locator('script:not([type="application/json"])').count()).toBe(1);
    expect(await page.locator('iframe, foreignObject, [onerror], [onload], [ontoggle]').count()).toBe(0);
    // Table cells holding markup show it as text.
    expect(await page.locator('.table td').first().textContent()).toBe('</script><script>window.__xss="table"</script>');
    // The sanitizer removed everything, so the CSP never had to block anything (the page's own script included).
    expect(violations).toEqual([]);
    await screenshot(page, 'dashboard-hostile');
    // The collector sees a violation when there is one: an inline script added to this page is blocked and reported.
    await page.evaluate(() => {
      const probe = document.createElement('script');
      probe.textContent = 'window.__cspProbe = 1';
      document.body.append(probe);
    });
    await expect.poll(() => violations.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    // Both collectors caught it: the DOM event and Chromium's console report.
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^securitypolicyviolation: script-src/),
        expect.stringMatching(/^(?!securitypolicyviolation).*inline script.*Content Security Policy directive/),
      ]),
    );
    expect(await page.evaluate(() => (window as unknown as { __cspProbe?: unknown }).__cspProbe)).toBeUndefined();
    await page.close();
  });

  it('the cookie from a signed-in visit serves later visits; strangers get a sign-in page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const denied = await page.goto(`${stack.tandemUrl}/tandem/d/sales`);
    expect(denied!.status()).toBe(401);
    expect(await page.locator('h1').textContent()).toBe('Sign in to view this dashboard');
    await page.goto(`${stack.tandemUrl}/tandem/d/sales?token=${stack.token}`);
    const again = await page.goto(`${stack.tandemUrl}/tandem/d/sales`);
    expect(again!.status()).toBe(200);
    await context.close();
  });

  describe('in JupyterLab', () => {
    let lab: Page;
    beforeAll(async () => {
      lab = await openLab(browser, stack.labUrl);
    });

    it('the launcher offers the Tandem templates and one click creates the notebook', async () => {
      const section = lab.locator('.jp-Launcher-section', { hasText: 'Tandem templates' });
      await section.waitFor({ timeout: 30_000 });
      expect(await section.locator('.jp-LauncherCard').count()).toBe(6);
      await section.locator('.jp-LauncherCard', { hasText: 'Fuel economy' }).click();
      await lab.locator('.jp-NotebookPanel').first().waitFor({ timeout: 30_000 });
      await expect
        .poll(() => lab.evaluate(() => (window as any).jupyterapp.shell.currentWidget?.context?.path), { timeout: 15_000 })
        .toBe('dashboard.ipynb');
      await screenshot(lab, 'templates-launcher');
    }, 120_000);

    it('publishes the open notebook as a dashboard from the toolbar, code hidden', async () => {
      await lab.locator('.jp-NotebookPanel-toolbar [data-command="tandem:publish-dashboard"]').first().click();
      const dialog = lab.locator('.jp-Dialog');
      await dialog.locator('input[aria-label="Dashboard title"]').fill('Fuel from the toolbar');
      await dialog.locator('input[aria-label="Create a share link"]').check();
      await screenshot(lab, 'publish-dialog');
      await dialog.locator('button', { hasText: 'Publish' }).click();
      await lab.locator('.jp-Dialog input[aria-label="Share link"]').waitFor({ timeout: 30_000 });
      const shareUrl = await lab.locator('.jp-Dialog input[aria-label="Share link"]').inputValue();
      await lab.locator('.jp-Dialog button', { hasText: 'Close' }).click();
      const mine = (await stack.server.api('GET', 'dashboards')).body.items.find(
        (d: { title: string }) => d.title === 'Fuel from the toolbar',
      );
      expect(mine).toMatchObject({ currentVersion: 1, hasLink: true });
      const html = await (await fetch(shareUrl)).text();
      expect(html).toContain('Fuel economy dashboard');
      expect(html).not.toContain('dashboards.publish');
    }, 120_000);

    it('a bad refresh schedule publishes nothing and says so; the corrected retry makes version 1', async () => {
      const before = (await stack.server.api('GET', 'dashboards')).body.items.length;
      const publishWith = async (cron: string) => {
        await lab.evaluate(() => void (window as any).jupyterapp.commands.execute('tandem:publish-dashboard'));
        const dialog = lab.locator('.jp-Dialog');
        await dialog.locator('input[aria-label="Dashboard title"]').fill('Scheduled fuel');
        await dialog.locator('input[aria-label="Refresh schedule"]').fill(cron);
        await dialog.locator('input[aria-label="Time zone"]').fill('Europe/Berlin');
        await dialog.locator('button', { hasText: /^Publish$|^Republish$/ }).click();
      };
      // The notebook remembers its dashboard: publish as a new one.
      await lab.evaluate(() => (window as any).jupyterapp.shell.currentWidget.model.setMetadata('tandem', {}));
      await publishWith('0 6 *');
      const error = lab.locator('.jp-Dialog', { hasText: 'Publishing the dashboard failed' });
      await expect.poll(() => error.textContent(), { timeout: 30_000 }).toMatch(/Nothing was published: cron: expected 5 fields/);
      await screenshot(lab, 'publish-bad-cron');
      await error.locator('button').last().click();
      expect((await stack.server.api('GET', 'dashboards')).body.items).toHaveLength(before);

      await publishWith('0 6 * * 1-5');
      await lab.locator('.jp-Dialog button', { hasText: 'Close' }).click({ timeout: 30_000 });
      const mine = (await stack.server.api('GET', 'dashboards')).body.items.filter((d: { title: string }) => d.title === 'Scheduled fuel');
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ currentVersion: 1, schedule: { cron: '0 6 * * 1-5', timezone: 'Europe/Berlin' } });
    }, 120_000);

    it('publishes a shared notebook as a live dashboard that follows its outputs', async () => {
      const content = {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)' } },
        cells: [
          {
            cell_type: 'code',
            source: 'x',
            metadata: {},
            execution_count: 1,
            outputs: [{ output_type: 'stream', name: 'stdout', text: 'live revenue 7\n' }],
          },
        ],
      };
      const created = await stack.server.api('POST', 'notebooks', { body: { name: 'live-revenue.ipynb', content } });
      expect(created.status).toBe(201);
      await lab.evaluate(() => (window as any).jupyterapp.commands.execute('docmanager:open', { path: 'Tandem:live-revenue.ipynb' }));
      await expect
        .poll(() => lab.evaluate(() => (window as any).jupyterapp.shell.currentWidget?.context?.path), { timeout: 30_000 })
        .toBe('Tandem:live-revenue.ipynb');
      await lab.evaluate(() => (window as any).jupyterapp.shell.currentWidget.context.ready);
      await lab.evaluate(() => void (window as any).jupyterapp.commands.execute('tandem:publish-dashboard'));
      const dialog = lab.locator('.jp-Dialog');
      await dialog.locator('input[aria-label="Dashboard title"]').fill('Live revenue');
      await dialog.locator('input[aria-label="Follow live"]').check();
      await dialog.locator('button', { hasText: 'Publish' }).click();
      await lab.locator('.jp-Dialog button', { hasText: 'Close' }).click({ timeout: 30_000 });
      const mine = (await stack.server.api('GET', 'dashboards')).body.items.find((d: { title: string }) => d.title === 'Live revenue');
      expect(mine.liveNotebookId).toBe(created.body.id);
      const html = await (
        await fetch(`${stack.tandemUrl}/tandem/d/${mine.slug}`, { headers: { authorization: `Bearer ${stack.token}` } })
      ).text();
      expect(html).toContain('live revenue 7');
      expect(html).toContain('● live');
    }, 120_000);

    describe('publishing a notebook that was run', () => {
      /** A notebook as JupyterLab saves it after running cells out of order, ending with the cell that published it. */
      const quarterly = {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)' } },
        cells: [
          { cell_type: 'markdown', metadata: {}, source: ['Notes for managers.\n', '\n', '# Quarterly *revenue*\n'] },
          ...Array.from({ length: 14 }, (_, i) => ({
            cell_type: 'code',
            metadata: {},
            source: `region(${i})`,
            execution_count: 20 - i,
            outputs: [{ output_type: 'stream', name: 'stdout', text: `region ${i} revenue ${i * 7}\n` }],
          })),
          { cell_type: 'code', metadata: {}, source: 'draft()', execution_count: null, outputs: [] },
          {
            cell_type: 'code',
            metadata: {},
            source:
              "const published = await dashboards.publish({ slug: 'q', title: 'Q', outputs: [] });\nmd(`Published version ${published.version}`)",
            execution_count: 21,
            outputs: [
              {
                output_type: 'execute_result',
                execution_count: 21,
                metadata: {},
                data: { 'text/markdown': 'Published version 3: [open the dashboard](http://x)', 'text/plain': 'Published version 3' },
              },
            ],
          },
        ],
      };
      let slug: string;
      const theme = (name: 'JupyterLab Light' | 'JupyterLab Dark') => setTheme(lab, name);

      it('the Publish dialog numbers cells by execution count, titles the dashboard by the first heading, and leaves the publishing cell out', async () => {
        await writeFile(path.join(stack.lab.rootDir, 'quarterly.ipynb'), JSON.stringify(quarterly));
        await lab.evaluate(() => (window as any).jupyterapp.commands.execute('docmanager:open', { path: 'quarterly.ipynb' }));
        await expect
          .poll(() => lab.evaluate(() => (window as any).jupyterapp.shell.currentWidget?.context?.path), { timeout: 30_000 })
          .toBe('quarterly.ipynb');
        await lab.evaluate(() => (window as any).jupyterapp.shell.currentWidget.context.ready);
        await lab.evaluate(() => void (window as any).jupyterapp.commands.execute('tandem:publish-dashboard'));
        const dialog = lab.locator('.jp-Dialog');
        await dialog.locator('.tandem-publish-cell').first().waitFor({ timeout: 30_000 });
        expect(await dialog.locator('input[aria-label="Dashboard title"]').inputValue()).toBe('Quarterly revenue');
        const labels = await dialog.locator('.tandem-publish-kind').allTextContents();
        expect(labels).toEqual(['md', ...Array.from({ length: 14 }, (_, i) => `[${20 - i}]`), '[ ]', '[21]']);
        const publisher = dialog.locator('.tandem-publish-cell[data-index="16"]');
        expect(await publisher.locator('input').first().isChecked()).toBe(false);
        expect(await publisher.locator('input').first().isDisabled()).toBe(true);
        expect(await publisher.textContent()).toContain('publishes the dashboard, never shown');
        // A list, not a slit: at least ten rows show without scrolling.
        const { listHeight, rowHeight } = await dialog.locator('.tandem-publish-cells').evaluate((list) => ({
          listHeight: list.clientHeight,
          rowHeight: list.querySelector('tbody tr')!.getBoundingClientRect().height,
        }));
        expect(listHeight / rowHeight).toBeGreaterThanOrEqual(10);
        await screenshot(lab, 'publish-dialog-cells');
        await theme('JupyterLab Dark');
        await screenshot(lab, 'publish-dialog-cells-dark');
        await theme('JupyterLab Light');

        await dialog.locator('.jp-Dialog-footer button', { hasText: 'Publish' }).click();
        await lab.locator('.jp-Dialog button', { hasText: 'Close' }).click({ timeout: 30_000 });
        const mine = (await stack.server.api('GET', 'dashboards')).body.items.find(
          (d: { title: string }) => d.title === 'Quarterly revenue',
        );
        expect(mine).toMatchObject({ currentVersion: 1, notebookPath: 'quarterly.ipynb' });
        slug = mine.slug;
        const html = await (
          await fetch(`${stack.tandemUrl}/tandem/d/${slug}`, { headers: { authorization: `Bearer ${stack.token}` } })
        ).text();
        expect(html).toContain('region 13 revenue 91');
        expect(html).not.toContain('Published version');
        expect(html).not.toContain('dashboards.publish');
      }, 120_000);

      it('the Dashboards panel lists it, opens it, copies its link, replaces and revokes the secret link, edits the schedule and deletes it', async () => {
        await lab.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(stack.labUrl).origin });
        const clipboard = () => lab.evaluate(() => navigator.clipboard.readText());
        const panel = lab.locator('#tandem-dashboards');
        await lab.locator('.jp-SideBar [data-id="tandem-dashboards"]').click();
        expect(await panel.locator('.jp-SidePanel-header h2').textContent()).toBe('Dashboards');
        const row = panel.locator(`.tandem-dashboards-item[data-slug="${slug}"]`);
        await row.waitFor({ timeout: 15_000 });
        expect(await row.textContent()).toMatch(/Quarterly revenue.*v1.*no refresh schedule/);

        await row.locator('button', { hasText: 'Copy link' }).click();
        await expect.poll(() => row.locator('.tandem-copy').textContent()).toBe('Copied');
        expect(await clipboard()).toBe(`${stack.tandemUrl}/tandem/d/${slug}`);
        const [tab] = await Promise.all([lab.context().waitForEvent('page'), row.locator('button', { hasText: 'Open' }).click()]);
        await tab.waitForLoadState('load');
        expect(tab.url()).toBe(`${stack.tandemUrl}/tandem/d/${slug}`);
        expect(await tab.locator('main').textContent()).toContain('region 0 revenue 0');
        await tab.close();
        await screenshot(lab, 'dashboards-panel');

        await row.click();
        const detail = panel.locator('.tandem-dashboards-detail');
        await expect.poll(() => detail.locator('.tandem-dashboards-version-item').count(), { timeout: 15_000 }).toBe(1);
        await detail.locator('button', { hasText: 'Create link' }).click();
        const secret = detail.locator('input[aria-label="Secret link"]');
        await secret.waitFor({ timeout: 15_000 });
        const first = await secret.inputValue();
        await detail.locator('.tandem-dashboards-new-link .tandem-copy').click();
        expect(await clipboard()).toBe(first);
        expect((await fetch(first)).status).toBe(200);

        await detail.locator('button', { hasText: 'Replace link…' }).click();
        await lab.locator('.jp-Dialog', { hasText: 'Replace the secret link?' }).locator('button', { hasText: 'Replace' }).click();
        await expect.poll(() => secret.inputValue(), { timeout: 15_000 }).not.toBe(first);
        const second = await secret.inputValue();
        expect((await fetch(first)).status).toBe(404);
        expect((await fetch(second)).status).toBe(200);

        await detail.locator('input[aria-label="Refresh schedule"]').fill('30 6 * * 1-5');
        await detail.locator('input[aria-label="Time zone"]').fill('Europe/Berlin');
        await detail.locator('button', { hasText: 'Save schedule' }).click();
        await expect
          .poll(() => detail.locator('.tandem-dashboards-schedule').textContent(), { timeout: 15_000 })
          .toContain('refreshes 30 6 * * 1-5 (Europe/Berlin)');
        expect((await stack.server.api('GET', `dashboards/${slug}`)).body.schedule).toMatchObject({
          cron: '30 6 * * 1-5',
          timezone: 'Europe/Berlin',
        });
        // No worker runs in this stack: the refresh stays a queued job, which its line links to.
        await detail.locator('button', { hasText: 'Refresh now' }).click();
        const job = detail.locator('.tandem-dashboards-run .tandem-dashboards-job');
        await job.waitFor({ timeout: 15_000 });
        expect(await detail.locator('.tandem-dashboards-run').textContent()).toMatch(/Last refresh\s*running/);
        await screenshot(lab, 'dashboards-panel-detail');
        await job.click();
        await expect
          .poll(() => lab.locator('.tandem-jobs-detail-name').textContent(), { timeout: 15_000 })
          .toBe(`refresh dashboard ${slug}`);
        await lab.locator('.jp-SideBar [data-id="tandem-dashboards"]').click();
        await detail.waitFor();
        await theme('JupyterLab Dark');
        await screenshot(lab, 'dashboards-panel-detail-dark');
        await theme('JupyterLab Light');

        await detail.locator('button', { hasText: 'Revoke link…' }).click();
        await lab.locator('.jp-Dialog', { hasText: 'Revoke the secret link?' }).locator('button', { hasText: 'Revoke' }).click();
        await expect.poll(() => secret.count(), { timeout: 15_000 }).toBe(0);
        expect((await fetch(second)).status).toBe(404);

        await detail.locator('button', { hasText: 'Delete dashboard…' }).click();
        await lab.locator('.jp-Dialog', { hasText: 'Delete “Quarterly revenue”?' }).locator('button', { hasText: 'Delete' }).click();
        await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);
        expect(await panel.locator('.tandem-dashboards-list').isVisible()).toBe(true);
        expect((await stack.server.api('GET', `dashboards/${slug}`)).status).toBe(404);
      }, 120_000);
    });
  });
});
