// `npm start`'s embedded path end to end: `tandem serve` with only TANDEM_HOME set keeps its
// metadata in PGlite under $TANDEM_HOME/db and its artifacts in $TANDEM_HOME/artifacts. Everything
// goes through the public HTTP API, and all of it is still there after a restart on the same home.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ROOT } from '../src/paths.js';
import { startWorker } from '../src/worker/agent.js';
import { connect, synced, until, type Client } from './collab/support.js';

interface Served {
  url: string;
  token: string;
  /** What the server logged (JSON lines on stderr). */
  log(): string;
  stop(): Promise<number | null>;
}

/**
 * `tandem serve` as `npm start` runs it, with no TANDEM_* variable but TANDEM_HOME (and
 * TANDEM_PORT=0, so the OS picks the port instead of the fixed 8787).
 */
async function serve(home: string): Promise<Served> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TANDEM_')));
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(SERVER_ROOT, '..', 'node_modules', 'vite-node', 'vite-node.mjs'), path.join(SERVER_ROOT, 'src', 'cli.ts'), 'serve'],
    { cwd: SERVER_ROOT, env: { ...env, TANDEM_HOME: home, TANDEM_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tandem serve did not start within 120 s:\n${stderr}`)), 120_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /Tandem server at (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tandem serve exited (${code}) before listening:\n${stderr}`));
    });
  });
  return {
    url,
    token: readFileSync(path.join(home, 'token'), 'utf8').trim(),
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

async function call(server: Served, method: string, apiPath: string, body?: unknown, token = server.token) {
  const res = await fetch(`${server.url}${apiPath.startsWith('/') ? '' : '/tandem/api/'}${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // pages and files are returned as text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const download = async (server: Served, apiPath: string, token = server.token) => {
  const res = await fetch(`${server.url}/tandem/api/${apiPath}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), sha256: res.headers.get('x-tandem-sha256') };
};

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Every file below `dir` (relative paths). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

const IPYNB = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)' } },
  cells: [
    { cell_type: 'markdown', source: '# Embedded report', metadata: {} },
    {
      cell_type: 'code',
      source: 'const revenue = 42;',
      metadata: {},
      execution_count: 1,
      outputs: [{ output_type: 'stream', name: 'stdout', text: 'revenue 42\n' }],
    },
  ],
};

const JOB_SCRIPT = `
import os, tandem_job as tj
print("embedded job ran", flush=True)
with open(os.path.join(tj.output_dir(), "result.txt"), "w") as f:
    f.write("forty-two")
`;

describe('npm start’s embedded server (PGlite and folder artifacts under TANDEM_HOME)', () => {
  let home: string;
  let server: Served | undefined;
  const clients: Client[] = [];
  const weights = randomBytes(200_000);
  /** What was made before the restart, to find after it. */
  const made = { jobId: '', notebookId: '', viewerToken: '' };

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'tandem-embedded-'));
    server = await serve(home);
  }, 150_000);
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('starts on PGlite in $TANDEM_HOME/db and the folder store in $TANDEM_HOME/artifacts', async () => {
    const listening = server!
      .log()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((record) => record.msg === 'tandem server listening');
    expect(listening).toMatchObject({ db: 'pglite', artifacts: 'folder', url: server!.url });
    expect(existsSync(path.join(home, 'db', 'PG_VERSION'))).toBe(true);
    expect((await call(server!, 'GET', '/healthz')).body).toMatchObject({ status: 'ok', db: 'ok', artifacts: 'ok' });
  });

  /** Registers a model version with a file and downloads it; the bytes are under $TANDEM_HOME/artifacts. */
  const registerModel = async () => {
    const started = await call(server!, 'POST', 'models/embedded-model/uploads', { createModel: true, metrics: { auc: 0.9 } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const put = await fetch(`${server!.url}/tandem/api/models/embedded-model/uploads/${started.body.uploadId}/files/model.onnx`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server!.token}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(weights),
    });
    expect(await put.json()).toMatchObject({ size: weights.length, sha256: sha256(weights) });
    const committed = await call(server!, 'POST', `models/embedded-model/uploads/${started.body.uploadId}/commit`);
    expect(committed).toMatchObject({ status: 201, body: { number: 1 } });

    const file = await download(server!, 'models/embedded-model/versions/1/files/model.onnx');
    expect(file).toMatchObject({ status: 200, sha256: sha256(weights) });
    expect(file.bytes.equals(weights)).toBe(true);
    const stored = await filesUnder(path.join(home, 'artifacts'));
    const copies = await Promise.all(stored.map(async (f) => sha256(await readFile(path.join(home, 'artifacts', f)))));
    expect(copies).toContain(sha256(weights));
  };

  /** Submits a job that a worker agent runs to success, with its log and output. */
  const runJob = async () => {
    const workerToken = await call(server!, 'POST', 'tokens', { name: 'local worker', kind: 'worker' });
    expect(workerToken.status).toBe(201);
    const worker = await startWorker({
      serverUrl: server!.url,
      token: workerToken.body.token,
      gpu: true,
      spark: false,
      allowCpu: true,
      log: () => undefined,
    });
    try {
      const submitted = await call(server!, 'POST', 'jobs', { kind: 'gpu', name: 'embedded job', spec: { script: JOB_SCRIPT, gpus: 0 } });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
      made.jobId = submitted.body.id;
      await expect
        .poll(async () => (await call(server!, 'GET', `jobs/${made.jobId}`)).body.status, { timeout: 90_000, interval: 250 })
        .toBe('succeeded');
    } finally {
      await worker.stop();
    }
    const logs = (await call(server!, 'GET', `jobs/${made.jobId}/events?types=log`)).body.events.map((e: any) => e.data.line);
    expect(logs).toContain('embedded job ran');
    expect((await download(server!, `jobs/${made.jobId}/outputs/result.txt`)).bytes.toString()).toBe('forty-two');
  };

  /** Creates a shared notebook, shares it with a viewer and edits it live. */
  const shareNotebook = async () => {
    const created = await call(server!, 'POST', 'notebooks', { name: 'embedded.ipynb', content: IPYNB });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    made.notebookId = created.body.id;
    const viewer = await call(server!, 'POST', 'users', { name: 'manager' });
    made.viewerToken = viewer.body.token;
    expect(
      (await call(server!, 'PUT', `notebooks/${made.notebookId}/grants`, { type: 'user', name: 'manager', role: 'viewer' })).status,
    ).toBe(200);

    const editor = await synced(connect(server!.url, made.notebookId, server!.token));
    const reader = await synced(connect(server!.url, made.notebookId, made.viewerToken));
    clients.push(editor, reader);
    editor.source(1).insert(0, '// edited live\n');
    await until(() => reader.source(1).toString().startsWith('// edited live'), 10_000, 'the viewer to see the live edit');
    const exported = await call(server!, 'GET', `notebooks/${made.notebookId}/ipynb`, undefined, made.viewerToken);
    expect(exported.body.cells.map((c: { source: string }) => c.source)).toEqual([
      '# Embedded report',
      '// edited live\nconst revenue = 42;',
    ]);
    for (const c of clients.splice(0)) c.destroy();
  };

  /** Publishes a dashboard page. */
  const publishDashboard = async () => {
    const published = await call(server!, 'POST', 'dashboards', { slug: 'embedded', title: 'Embedded', notebook: IPYNB });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const page = await call(server!, 'GET', '/tandem/d/embedded');
    expect(page.status).toBe(200);
    expect(page.body).toContain('revenue 42');
  };

  it('registers a model, runs a job on a worker, shares a notebook, publishes a dashboard, and keeps them all across a restart', async () => {
    await registerModel();
    await runJob();
    await shareNotebook();
    await publishDashboard();

    // A restart on the same TANDEM_HOME, as the next `npm start` does.
    const before = server!;
    expect(await before.stop()).toBe(0);
    server = undefined;
    server = await serve(home);
    expect(server.token).toBe(before.token);

    // The model, its file, and the next version number.
    expect((await call(server, 'GET', 'models/embedded-model')).body).toMatchObject({ latestVersion: 1, latestMetrics: { auc: 0.9 } });
    const file = await download(server, 'models/embedded-model/versions/1/files/model.onnx');
    expect(file.bytes.equals(weights)).toBe(true);
    const again = await call(server, 'POST', 'models/embedded-model/uploads', {});
    await fetch(`${server.url}/tandem/api/models/embedded-model/uploads/${again.body.uploadId}/files/model.onnx`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/octet-stream' },
      body: 'v2',
    });
    expect((await call(server, 'POST', `models/embedded-model/uploads/${again.body.uploadId}/commit`)).body).toMatchObject({ number: 2 });

    // The job, its log and its output.
    expect((await call(server, 'GET', `jobs/${made.jobId}`)).body).toMatchObject({ status: 'succeeded', name: 'embedded job' });
    const logs = (await call(server, 'GET', `jobs/${made.jobId}/events?types=log`)).body.events.map((e: any) => e.data.line);
    expect(logs).toContain('embedded job ran');
    expect((await download(server, `jobs/${made.jobId}/outputs/result.txt`)).bytes.toString()).toBe('forty-two');

    // The notebook with the live edit, still shared with the viewer, live again for a new client.
    const exported = await call(server, 'GET', `notebooks/${made.notebookId}/ipynb`, undefined, made.viewerToken);
    expect(exported.body.cells.map((c: { source: string }) => c.source)).toEqual([
      '# Embedded report',
      '// edited live\nconst revenue = 42;',
    ]);
    const fresh = await synced(connect(server.url, made.notebookId, server.token));
    clients.push(fresh);
    expect(fresh.cells.length).toBe(2);
    expect(fresh.source(1).toString()).toBe('// edited live\nconst revenue = 42;');

    // The dashboard.
    const page = await call(server, 'GET', '/tandem/d/embedded');
    expect(page.status).toBe(200);
    expect(page.body).toContain('revenue 42');
  }, 300_000);
});
