import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOverHttp } from '../../../server/test/models/support.js';
import { startTestServer, type TestServer } from '../../../server/test/support/server.js';
// @ts-expect-error plain ESM helpers shared with the root scripts
import { freePort, httpOk, startProcess, stopProcess, waitFor } from '../../../scripts/lib/proc.mjs';

// A private stack until the shared one (test/browser/support/stack.ts) lands: Tandem server,
// JupyterLab with the built extension and the server's URL + token in page config, Chromium.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PYTHON = process.env.TANDEM_PYTHON ?? [path.join(ROOT, '.venv/bin/python'), '/tmp/warm/venv/bin/python'].find((p) => existsSync(p))!;

function buildLabExtension(): void {
  const sitePackages = spawnSync(PYTHON, ['-c', 'import jupyterlab, os; print(os.path.dirname(jupyterlab.__file__))'], { encoding: 'utf8' }).stdout.trim();
  const steps: [string, string[]][] = [
    ['npx', ['tsc', '-b', path.join(ROOT, 'extension')]],
    ['flock', ['/tmp/tandem-labext.lock', 'node', 'node_modules/@jupyterlab/builder/lib/build-labextension.js', '--core-path', path.join(sitePackages, 'staging'), 'extension']],
  ];
  for (const [cmd, args] of steps) {
    const res = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${res.stdout}\n${res.stderr}`);
  }
}

describe('Models panel in JupyterLab', () => {
  let server: TestServer;
  let lab: ChildProcess;
  let labUrl: string;
  let home: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    buildLabExtension();
    server = await startTestServer();
    home = await mkdtemp(path.join(os.tmpdir(), 'tandem-lab-'));
    await mkdir(path.join(home, 'config/labconfig'), { recursive: true });
    await writeFile(path.join(home, 'config/labconfig/page_config.json'), JSON.stringify({ tandemUrl: server.url, tandemToken: server.adminToken }));
    const port = await freePort();
    labUrl = `http://127.0.0.1:${port}`;
    lab = startProcess(
      PYTHON,
      ['-m', 'jupyter', 'lab', '--no-browser', `--port=${port}`, '--ip=127.0.0.1', '--IdentityProvider.token=', '--ServerApp.password=', '--allow-root', `--ServerApp.root_dir=${home}`],
      {
        env: { JUPYTER_CONFIG_DIR: path.join(home, 'config'), JUPYTER_DATA_DIR: path.join(home, 'data'), JUPYTER_PATH: path.join(ROOT, 'jupyter-config/data'), JUPYTER_RUNTIME_DIR: path.join(home, 'runtime') },
        logStream: (await import('node:fs')).createWriteStream(path.join(home, 'lab.log')),
        name: 'jupyter-lab',
      },
    );
    await waitFor('JupyterLab', () => httpOk(`${labUrl}/lab`), { child: lab, timeoutMs: 90_000 });
    for (const [i, auc] of [0.71, 0.78].entries()) {
      const res = await registerOverHttp(server, 'churn-browser', { 'model.onnx': `weights ${i}` }, { metadata: { metrics: { auc, loss: 1 - auc } } });
      expect(res.status).toBe(201);
    }
    expect((await registerOverHttp(server, 'baseline', { 'model.onnx': 'constant' }, { metadata: { metrics: { auc: 0.5 } } })).status).toBe(201);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${labUrl}/lab`);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stopProcess(lab);
    await server?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('lists registered models in the left sidebar, filters them and opens a model page with its versions', async () => {
    await page.locator('.jp-SideBar [data-id="tandem-models"]').click({ timeout: 60_000 });
    await expect.poll(() => page.locator('.tandem-models-item').count(), { timeout: 15_000 }).toBe(2);
    await page.locator('.tandem-models-filter').fill('metric.auc>0.6');
    await expect.poll(() => page.locator('.tandem-models-item').count(), { timeout: 15_000 }).toBe(1);
    await page.locator('[data-model="churn-browser"]').click();
    await expect.poll(() => page.locator('.tandem-models-versions tbody tr').count(), { timeout: 15_000 }).toBe(2);
    expect(await page.locator('.tandem-models-chart polyline').count()).toBe(2);
  }, 90_000);

  it('sets an alias and moves it to another version', async () => {
    const setAlias = async (version: string) => {
      await page.locator('.tandem-models-alias-name').fill('production');
      await page.locator('.tandem-models-alias-version').selectOption(version);
      await page.locator('.tandem-models-alias-set').click();
    };
    await setAlias('2');
    await expect.poll(() => page.locator('.tandem-models-page [data-alias="production"]').textContent(), { timeout: 15_000 }).toContain('production → v2');
    await setAlias('1');
    await expect.poll(() => page.locator('.tandem-models-page [data-alias="production"]').textContent(), { timeout: 15_000 }).toContain('production → v1');
    expect((await server.api('GET', 'models/churn-browser/aliases/production')).body.number).toBe(1);
  }, 60_000);

  it('edits the markdown model card and renders it', async () => {
    await page.locator('.tandem-models-section button', { hasText: 'Edit' }).click();
    await page.locator('.tandem-models-description-editor').fill('# Churn model\n\nPredicts **churn** per customer.');
    await page.locator('.tandem-models-section button', { hasText: 'Save' }).click();
    await expect.poll(() => page.locator('.tandem-models-description h1').textContent(), { timeout: 15_000 }).toContain('Churn model');
    expect((await server.api('GET', 'models/churn-browser')).body.description).toContain('**churn**');
  }, 60_000);

  it('refreshes live when someone else registers a version', async () => {
    expect((await registerOverHttp(server, 'churn-browser', { 'model.onnx': 'weights 3' }, { metadata: { metrics: { auc: 0.83, loss: 0.17 } } })).status).toBe(201);
    await expect.poll(() => page.locator('.tandem-models-versions tbody tr').count(), { timeout: 15_000 }).toBe(3);
    await mkdir(path.join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-results/models-panel.png') });
  }, 60_000);
});
