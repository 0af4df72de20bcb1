import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helpers shared with the root scripts
import { startJupyterLab } from '../../../scripts/lib/jupyter.mjs';
// @ts-expect-error plain ESM helpers shared with the root scripts
import { stopProcess } from '../../../scripts/lib/proc.mjs';

// How `npm start` launches JupyterLab: with a Jupyter token and the Tandem token in page config.
describe('JupyterLab as npm start launches it', () => {
  const jupyterToken = 'jupyter-secret-0123456789abcdef';
  const tandemToken = 'tdm_secret_0123456789abcdef';
  let home: string;
  let lab: { url: string; child: { pid?: number } };

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'tandem-lab-start-'));
    lab = await startJupyterLab({
      home,
      rootDir: path.join(home, 'notebooks'),
      token: jupyterToken,
      tandemUrl: 'http://127.0.0.1:9',
      tandemToken,
      logFile: path.join(home, 'lab.log'),
    });
  });

  afterAll(async () => {
    if (lab) await stopProcess(lab.child);
    await rm(home, { recursive: true, force: true });
  });

  it('listens on a port the OS chose and asks for its token', async () => {
    expect(lab.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${lab.url}/api/status`)).status).toBe(403);
    expect((await fetch(`${lab.url}/api/status?token=${jupyterToken}`)).status).toBe(200);
  });

  it('keeps both tokens out of its command line, which every user of the machine can read', async () => {
    const cmdline = (await readFile(`/proc/${lab.child.pid}/cmdline`, 'utf8')).split('\0').join(' ');
    expect(cmdline).toContain('jupyter');
    expect(cmdline).not.toContain(jupyterToken);
    expect(cmdline).not.toContain(tandemToken);
  });

  it('writes the page config holding the Tandem token readable by its owner only', async () => {
    const file = path.join(home, 'config/labconfig/page_config.json');
    expect(JSON.parse(await readFile(file, 'utf8')).tandemToken).toBe(tandemToken);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o077).toBe(0);
  });
});
