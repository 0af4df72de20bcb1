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
});
