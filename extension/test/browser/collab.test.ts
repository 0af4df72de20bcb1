import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openLab, runAllCells, screenshot, startStack, type Lab, type Stack } from './support/stack.js';

/** Opens a shared notebook from the Tandem drive in the page's JupyterLab. */
async function openShared(page: Page, path: string): Promise<void> {
  await page.evaluate(
    (p) => (window as any).jupyterapp.commands.execute('docmanager:open', { path: p, factory: 'Notebook' }),
    `Tandem:${path}`,
  );
  await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content').first().waitFor({ timeout: 60_000 });
}

const cellText = async (page: Page) =>
  (await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content').first().innerText()).trim();

describe('co-editing a shared notebook from two JupyterLab servers', () => {
  let stack: Stack;
  let bobLab: Lab;
  let browser: Browser;
  let alice: Page;
  let bob: Page;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
    const bobUser = await stack.server.user('bob');
    bobLab = await stack.addLab({ tandemToken: bobUser.token });
    const created = await stack.server.api('POST', 'notebooks', { body: { name: 'pair.ipynb' } });
    expect(created.status).toBe(201);
    const shared = await stack.server.api('PUT', `notebooks/${created.body.id}/grants`, {
      body: { type: 'user', name: 'bob', role: 'editor' },
    });
    expect(shared.status).toBe(200);
    [alice, bob] = await Promise.all([openLab(browser, stack.labUrl), openLab(browser, bobLab.url)]);
    for (const [who, page] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      page.on('console', (m) => m.type() === 'error' && console.log(`[${who}] ${m.text()}`));
    }
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('lists the shared notebook in the Tandem file browser', async () => {
    await bob.locator('.jp-SideBar [title="Shared notebooks (Tandem)"]').click({ timeout: 60_000 });
    await bob
      .locator(
        '.tandem-SharedBrowser .jp-DirListing-item[title*="pair.ipynb"], .tandem-SharedBrowser .jp-DirListing-itemText:has-text("pair.ipynb")',
      )
      .first()
      .waitFor({ timeout: 30_000 });
  }, 90_000);

  it('shows each user the other’s typing, cursor and presence', async () => {
    await Promise.all([openShared(alice, 'pair.ipynb'), openShared(bob, 'pair.ipynb')]);

    await alice.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content').first().click();
    await alice.keyboard.type('const fromAlice = 1;');
    await expect.poll(() => cellText(bob), { timeout: 20_000 }).toContain('const fromAlice = 1;');

    await bob.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content').first().click();
    await bob.keyboard.press('End');
    await bob.keyboard.type(' // bob was here');
    await expect.poll(() => cellText(alice), { timeout: 20_000 }).toContain('const fromAlice = 1; // bob was here');

    const carets = (page: Page) =>
      page.locator('.tandem-RemoteCaret-label').evaluateAll((labels) => labels.map((l) => (l as HTMLElement).dataset.name));
    await expect.poll(() => carets(alice), { timeout: 20_000 }).toContain('bob');
    await expect.poll(() => carets(bob), { timeout: 20_000 }).toContain('Admin');
    await expect.poll(() => alice.locator('.tandem-Collaborators-badge').count(), { timeout: 20_000 }).toBe(2);
    await screenshot(alice, 'collab-alice');
    await screenshot(bob, 'collab-bob');

    // Both views converge on exactly one cell: nobody seeded or duplicated content.
    expect(await alice.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').count()).toBe(1);
    expect(await bob.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').count()).toBe(1);
    // Edits are stored as they happen: the tab never shows unsaved changes.
    expect(await alice.locator('.jp-mod-current.jp-mod-dirty').count()).toBe(0);
    const id = (await stack.server.api('GET', 'notebooks')).body.notebooks[0].id;
    await expect
      .poll(async () => (await stack.server.api('GET', `notebooks/${id}/ipynb`)).body.cells.map((c: { source: string }) => c.source), {
        timeout: 10_000,
      })
      .toEqual(['const fromAlice = 1; // bob was here']);
  }, 120_000);

  it('shows the output of a cell run by one user’s kernel to the other user', async () => {
    const editor = alice.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content').first();
    await editor.click();
    await alice.keyboard.press('ControlOrMeta+A');
    await alice.keyboard.type('6 * 7');
    await expect.poll(() => cellText(bob), { timeout: 20_000 }).toBe('6 * 7');
    await runAllCells(alice);
    await expect
      .poll(
        () =>
          bob
            .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')
            .first()
            .innerText()
            .catch(() => ''),
        { timeout: 60_000 },
      )
      .toContain('42');
  }, 120_000);

  it('makes an open tab read-only the moment its user is demoted to viewer: typing and new cells change nothing', async () => {
    const id = (await stack.server.api('GET', 'notebooks')).body.notebooks[0].id;
    const stored = async () => (await stack.server.api('GET', `notebooks/${id}/ipynb`)).body.cells.map((c: { source: string }) => c.source);
    const before = await stored();
    const cells = bob.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell');
    const editor = cells.locator('.cm-content').first();
    const demoted = await stack.server.api('PUT', `notebooks/${id}/grants`, { body: { type: 'user', name: 'bob', role: 'viewer' } });
    expect(demoted.status).toBe(200);
    await expect.poll(() => editor.getAttribute('aria-readonly'), { timeout: 20_000 }).toBe('true');
    await bob.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .tandem-Collaborators-readOnly').waitFor({ timeout: 10_000 });

    await editor.click();
    await bob.keyboard.type('viewer typing');
    await bob.keyboard.press('Escape');
    await bob.keyboard.press('b'); // command mode: insert a cell below
    await bob.waitForTimeout(1_000);
    expect(await cells.count()).toBe(before.length);
    expect(await cellText(bob)).not.toContain('viewer typing');
    expect(await stored()).toEqual(before);
  }, 120_000);

  it('opens the notebook read-only for a viewer, marked "View only"', async () => {
    await bob.close();
    const viewer = await openLab(browser, bobLab.url);
    await openShared(viewer, 'pair.ipynb');
    const editor = viewer.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content').first();
    await expect.poll(() => editor.getAttribute('aria-readonly'), { timeout: 20_000 }).toBe('true');
    await viewer.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .tandem-Collaborators-readOnly').waitFor({ timeout: 10_000 });
    await screenshot(viewer, 'collab-viewer');
  }, 120_000);

  describe('the Tandem drive in the file browser (a fresh workspace)', () => {
    const currentPath = (page: Page) =>
      page.evaluate(() => (window as any).jupyterapp.shell.currentWidget?.context?.path as string | undefined);
    /** Opens a new launcher and clicks its "TypeScript (Tandem)" notebook card; answers the new notebook's path. */
    const newFromLauncher = async (page: Page) => {
      const launcher: string = await page.evaluate(async () => (await (window as any).jupyterapp.commands.execute('launcher:create')).id);
      await page.locator(`[id="${launcher}"] .jp-LauncherCard[data-category="Notebook"]`, { hasText: 'TypeScript (Tandem)' }).click();
      // The card replaces its launcher with the new notebook.
      await expect.poll(() => page.evaluate((id) => !document.getElementById(id), launcher), { timeout: 30_000 }).toBe(true);
      await expect.poll(() => currentPath(page), { timeout: 30_000 }).toMatch(/Untitled\d*\.ipynb$/);
      return (await currentPath(page))!;
    };
    const sharedItem = (page: Page, name: string) => page.locator('.tandem-SharedBrowser .jp-DirListing-item', { hasText: name });

    it('the launcher creates the notebook where the visible file browser is: the local folder, the Tandem drive only while it is shown', async () => {
      const local = await newFromLauncher(alice);
      expect(local).not.toMatch(/^Tandem:/);
      await alice.locator('.jp-SideBar [title="Shared notebooks (Tandem)"]').click();
      await alice.locator('.tandem-SharedBrowser').waitFor({ state: 'visible' });
      const shared = await newFromLauncher(alice);
      expect(shared).toMatch(/^Tandem:Untitled\d*\.ipynb$/);
      await alice.locator('.jp-SideBar [data-id="filebrowser"]').click();
      await alice.locator('.tandem-SharedBrowser').waitFor({ state: 'hidden' });
      expect(await newFromLauncher(alice)).not.toMatch(/^Tandem:/);
    }, 180_000);

    it('a model registered from a shared notebook names it in its lineage as tandem:<id>', async () => {
      await alice.locator('.jp-SideBar [title="Shared notebooks (Tandem)"]').click();
      const path = await newFromLauncher(alice);
      const name = path.slice('Tandem:'.length);
      const id = (await stack.server.api('GET', 'notebooks')).body.notebooks.find((n: { name: string }) => n.name === name).id;
      await alice.waitForFunction(
        () => (window as any).jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle',
        undefined,
        {
          timeout: 60_000,
        },
      );
      await alice.evaluate((code) => {
        (window as any).jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel.setSource(code);
      }, ["import { models } from '@tandem/kernel';", "const v = await models.register({ name: 'from-shared', files: { 'model.txt': new TextEncoder().encode('w') } });", '`lineage ${v.lineage.notebook}`'].join('\n'));
      await runAllCells(alice);
      await expect
        .poll(() => alice.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output').first().textContent(), { timeout: 60_000 })
        .toContain(`lineage tandem:${id}`);
      expect((await stack.server.api('GET', 'models/from-shared/versions/1')).body.lineage).toMatchObject({ notebook: `tandem:${id}` });
    }, 180_000);

    it('"Share…" and "Download as .ipynb" follow the selection, in the toolbar, the context menu and the palette', async () => {
      const share = alice.locator('.tandem-SharedBrowser .jp-Toolbar [data-command="tandem:share-shared-notebook"]');
      const isEnabled = (id: string) => alice.evaluate((c) => (window as any).jupyterapp.commands.isEnabled(c) as boolean, id);
      await sharedItem(alice, 'pair.ipynb').waitFor({ timeout: 30_000 });
      await sharedItem(alice, 'pair.ipynb').click();
      await expect.poll(() => isEnabled('tandem:share-shared-notebook'), { timeout: 10_000 }).toBe(true);
      expect(await isEnabled('tandem:download-shared-notebook')).toBe(true);
      // The toolbar button re-renders on notifyCommandChanged.
      const disabled = () =>
        share.evaluate(
          (el) => el.hasAttribute('disabled') || el.getAttribute('aria-disabled') === 'true' || !!el.querySelector('[disabled]'),
        );
      await expect.poll(disabled, { timeout: 10_000 }).toBe(false);

      await sharedItem(alice, 'pair.ipynb').click({ button: 'right' });
      const menu = alice.locator('.lm-Menu');
      await menu.locator('.lm-Menu-item', { hasText: 'Share…' }).waitFor({ timeout: 10_000 });
      const [download] = await Promise.all([
        alice.waitForEvent('download', { timeout: 30_000 }),
        menu.locator('.lm-Menu-item:not(.lm-mod-disabled)', { hasText: 'Download as .ipynb' }).click(),
      ]);
      expect(download.suggestedFilename()).toBe('pair.ipynb');
      // The file came through a fetch with the Authorization header: no credential in any URL.
      expect(download.url()).toMatch(/^blob:/);
      const ipynb = JSON.parse(await readFile((await download.path())!, 'utf8'));
      expect(ipynb.cells.map((c: { source: string }) => c.source).join('')).toBe('6 * 7');

      await alice.evaluate(() => (window as any).jupyterapp.commands.execute('apputils:activate-command-palette'));
      await alice.keyboard.type('Download as .ipynb');
      await alice.locator('.lm-CommandPalette-item', { hasText: 'Download as .ipynb' }).waitFor({ timeout: 10_000 });
      await alice.keyboard.press('Escape');
      await screenshot(alice, 'collab-drive-selection');
    }, 120_000);
  });
});
