// A hostile teammate's job tries to read what belongs to the agent, the server and other jobs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ROOT } from '../../src/paths.js';
import type { RunningWorker } from '../../src/worker/agent.js';
import { createSandbox } from '../../src/worker/sandbox.js';
import { WorkerClient } from '../../src/worker/worker.client.js';
import { logLines, startCpuWorker, waitForJob, workerToken } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

const sandboxed = createSandbox().isolated;

// Prints what the job can see: each probe is `name: result`.
const PROBE = (targets: Record<string, string>) => `
import json, os, pathlib
targets = json.loads(${JSON.stringify(JSON.stringify(targets))})
def probe(path):
    try:
        p = pathlib.Path(path)
        return "listed " + ",".join(sorted(os.listdir(p))) if p.is_dir() else "read " + p.read_text()[:40]
    except Exception as e:
        return "denied " + type(e).__name__
for name, path in targets.items():
    print(f"{name}: {probe(path)}", flush=True)
print("env: " + " ".join(sorted(k for k in os.environ if "TOKEN" in k or "SECRET" in k or "DATABASE" in k or k.startswith("TANDEM_TEST"))), flush=True)
print("job token: " + os.environ.get("TANDEM_TOKEN", ""), flush=True)
print(f"uid: {os.getuid()}", flush=True)
try:
    open("/usr/tandem-sandbox-probe", "w").write("x")
    print("write outside: ok", flush=True)
except Exception as e:
    print("write outside: denied " + type(e).__name__, flush=True)
`;

describe.skipIf(!sandboxed)('jobs cannot read the agent, the server or other jobs', () => {
  let server: TestServer;
  let worker: RunningWorker;
  let secrets: string;
  let lines: string[];
  const agentEnv = { ...process.env };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    secrets = await mkdtemp(path.join(os.tmpdir(), 'tandem-agent-secrets-'));
    await writeFile(path.join(secrets, 'worker-token'), 'tdm_worker_secret');
    const token = await workerToken(server);
    // What a careless agent environment holds: the worker token, an admin token, database credentials.
    Object.assign(process.env, { TANDEM_WORKER_TOKEN: token, TANDEM_TOKEN: server.adminToken, TANDEM_S3_SECRET_KEY: 'minio-secret' });
    worker = await startCpuWorker(server, token);

    const mallory = await server.user('mallory');
    const victim = await server.user('victim');
    // The victim's job stays running while mallory's job looks around.
    const long = await server.api('POST', 'jobs', {
      token: victim.token,
      body: { kind: 'gpu', spec: { script: 'import time\nopen("victim-secret.txt", "w").write("payroll")\ntime.sleep(60)', gpus: 0 } },
    });
    await waitForJob(server, long.body.id, (j) => j.status === 'running', 30_000, victim.token);
    const jobFolders = (await import('node:fs')).readdirSync(os.tmpdir()).filter((d) => d.startsWith('tandem-job-'));
    const res = await server.api('POST', 'jobs', {
      token: mallory.token,
      body: {
        kind: 'gpu',
        spec: {
          gpus: 0,
          script: PROBE({
            serverHome: path.join(server.ctx.config.home, 'token'),
            agentSecrets: secrets,
            rootHome: os.homedir(),
            repo: path.resolve(SERVER_ROOT, '..'),
            tmp: os.tmpdir(),
            ...Object.fromEntries(jobFolders.map((d, i) => [`otherJob${i}`, path.join(os.tmpdir(), d)])),
          }),
        },
      },
    });
    const done = await waitForJob(server, res.body.id, (j) => j.status === 'succeeded' || j.status === 'failed', 60_000, mallory.token);
    expect(done.status, done.error).toBe('succeeded');
    lines = await logLines(server, res.body.id);
    await server.api('POST', `jobs/${long.body.id}/cancel`, { token: victim.token });
  }, 120_000);

  afterAll(async () => {
    process.env = agentEnv;
    await worker?.stop();
    await server?.stop();
    await rm(secrets, { recursive: true, force: true });
  });

  const said = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);

  it('sees none of the agent’s tokens or credentials in its environment, only a token of its own', async () => {
    expect(said('env')).toBe('TANDEM_TOKEN');
    const own = said('job token')!;
    expect(own).not.toBe(server.adminToken);
    expect(own).not.toBe(process.env.TANDEM_WORKER_TOKEN);
    // It acted as mallory while the job ran, and died with the job.
    expect((await server.api('GET', 'me', { token: own })).status).toBe(401);
  });

  it('cannot read the server’s admin token, the agent’s files or the home folder', () => {
    expect(said('serverHome')).toMatch(/^denied/);
    expect(said('agentSecrets')).toMatch(/^denied/);
    // Only the Python installation the venv was made from is mounted there (read-only).
    expect(said('rootHome')).toMatch(/^denied|^listed (\.pyenv)?$/);
  });

  it('sees no other job’s folder, and a /tmp of its own', () => {
    const others = lines.filter((l) => l.startsWith('otherJob'));
    expect(others.length).toBeGreaterThan(0); // the victim's folder at least
    for (const line of others) expect(line).toMatch(/: denied/);
    expect(lines.join('\n')).not.toContain('payroll');
    expect(said('tmp')).not.toMatch(/tandem-agent-secrets/);
  });

  it('runs as an unprivileged user on a read-only system', () => {
    if (process.getuid?.() === 0) expect(said('uid')).toBe('65534');
    expect(said('write outside')).toMatch(/^denied/);
  });
});

describe('a worker that cannot isolate jobs', () => {
  let server: TestServer;
  afterAll(() => server?.stop());

  it('runs only its owner’s jobs, even when an admin owns it', async () => {
    server = await startTestServer({ db: 'postgres' });
    const client = new WorkerClient(server.url, await workerToken(server));
    await client.register({ name: 'bare', capabilities: ['gpu'], gpus: [], concurrency: 1, onlyOwner: true });
    const mallory = await server.user('mallory');
    const theirs = await server.api('POST', 'jobs', { token: mallory.token, body: { kind: 'gpu', spec: { script: 'print(1)', gpus: 0 } } });
    expect(await client.claim(5000, 0)).toBeUndefined();
    const own = await server.api('POST', 'jobs', { body: { kind: 'gpu', spec: { script: 'print(2)', gpus: 0 } } });
    expect((await client.claim(5000, 0))?.id).toBe(own.body.id);
    expect((await server.api('GET', `jobs/${theirs.body.id}`, { token: mallory.token })).body.status).toBe('queued');
  });
});
