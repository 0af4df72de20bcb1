// What a browser test needs: a real Tandem server, a real JupyterLab with the built extension and
// kernel spec pointing at it, and headless Chromium. One stack per test file; it is expensive.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { startTestServer, type TestServer, type TestServerOptions } from '../../../../server/test/support/server.js';
// @ts-expect-error plain ESM helpers shared with the root scripts
import { startJupyterLab } from '../../../../scripts/lib/jupyter.mjs';
// @ts-expect-error plain ESM helpers shared with the root scripts
import { stopProcess } from '../../../../scripts/lib/proc.mjs';
// @ts-expect-error plain ESM helpers shared with the root scripts
import { ensureLabExtension } from '../../../../scripts/lib/setup-steps.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface Lab {
  /** JupyterLab's base URL (no token needed). */
  url: string;
  /** Folder JupyterLab serves as its root. */
  rootDir: string;
  stop(): Promise<void>;
}

export interface Stack {
  server: TestServer;
  /** The first JupyterLab. */
  lab: Lab;
  labUrl: string;
  tandemUrl: string;
  /** The Tandem admin token the extension uses. */
  token: string;
  /** Starts another JupyterLab on the same Tandem server, e.g. as a second user. */
  addLab(options?: { tandemToken?: string }): Promise<Lab>;
  stop(): Promise<void>;
}

export interface StackOptions {
  server?: TestServerOptions;
  /** Extra environment for JupyterLab and its kernels. */
  env?: Record<string, string>;
}

/**
 * Starts a Tandem server and one JupyterLab bound to it, on ports the OS chose. The server runs on a fresh
 * database of the run's real PostgreSQL (the global set-up provides it), as deployments do.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  await ensureLabExtension(); // a no-op unless extension sources changed since the last build
  const server = await startTestServer({ db: 'postgres', ...options.server });
  const labs: Lab[] = [];
  const addLab = async ({ tandemToken = server.adminToken } = {}): Promise<Lab> => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'tandem-lab-'));
    const rootDir = path.join(home, 'notebooks');
    const { url, child } = await startJupyterLab({
      home,
      rootDir,
      tandemUrl: server.url,
      tandemToken,
      logFile: path.join(home, 'lab.log'),
      env: options.env,
      // Lets tests drive JupyterLab's commands (window.jupyterapp) instead of racing key presses.
      pageConfig: { exposeAppInBrowser: true },
    });
    const lab = {
      url,
      rootDir,
      async stop() {
        await stopProcess(child);
        await rm(home, { recursive: true, force: true });
      },
    };
    labs.push(lab);
    return lab;
  };
  const lab = await addLab();
  return {
    server,
    lab,
    labUrl: lab.url,
    tandemUrl: server.url,
    token: server.adminToken,
    addLab,
    async stop() {
      await Promise.all(labs.map((l) => l.stop()));
      await server.stop();
    },
  };
}

/** Debian's Chromium through playwright-core (no browser downloads on these machines). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Opens JupyterLab in a new page and waits until the application has restored. */
export async function openLab(browser: Browser, labUrl: string, route = 'lab'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${labUrl}/${route}`);
  await page.locator('#jp-main-dock-panel').waitFor({ timeout: 90_000 });
  return page;
}

/** Writes `name` with these code cells for the TypeScript (Tandem) kernel into the lab and opens it. */
export async function openNotebook(browser: Browser, lab: Lab, name: string, sources: string[]): Promise<Page> {
  const notebook = {
    cells: sources.map((source) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null })),
    metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  await writeFile(path.join(lab.rootDir, name), JSON.stringify(notebook));
  // `reset`: only this notebook, not the tabs earlier tests left in the workspace (whose files
  // may have changed on disk since, which opens a dialog over everything).
  return openLab(browser, lab.url, `lab/tree/${name}?reset`);
}

/**
 * Runs every cell of the notebook in the current tab once its kernel is connected (pressing
 * Shift+Enter before that silently skips the cell) and waits until the kernel is idle again.
 */
export async function runAllCells(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as any).jupyterapp?.shell.currentWidget?.sessionContext, undefined, { timeout: 60_000 });
  await page.evaluate(async () => {
    const app = (window as any).jupyterapp;
    const panel = app.shell.currentWidget;
    await panel.sessionContext.ready;
    await panel.context.ready;
    await app.commands.execute('notebook:run-all-cells');
  });
}

/** Switches JupyterLab's theme and waits until its style sheets have loaded. */
export async function setTheme(page: Page, name: 'JupyterLab Light' | 'JupyterLab Dark'): Promise<void> {
  await page.evaluate((t) => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: t }), name);
  await expect.poll(() => page.evaluate(() => document.body.dataset.jpThemeName), { timeout: 15_000 }).toBe(name);
  // JupyterLab shows its splash screen while the theme's style sheets load.
  await page.locator('#jupyterlab-splash').waitFor({ state: 'detached', timeout: 15_000 });
}

/** Saves `test-results/<name>.png` and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(ROOT, 'test-results', `${name}.png`);
  await mkdir(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
  return file;
}
