// A dashboard refresh runs teammates' notebooks: on a worker, sandboxed, as the person who set the
// schedule (re-checked at every run), with a token that is only the job's. Never on the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardRefresh, type DashboardRefresh } from '../../src/dashboards/dashboards.refresh.js';
import type { RunningWorker } from '../../src/worker/agent.js';
import { startNotebookWorker } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

const notebook = (...sources: string[]) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)', language: 'typescript' } },
  cells: sources.map((source) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null })),
});

describe('what a refresh notebook can reach', () => {
  let server: TestServer;
  let worker: RunningWorker;
  let ticker: DashboardRefresh;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    worker = await startNotebookWorker(server);
    ticker = createDashboardRefresh(server.ctx);
    alice = await server.user('alice');
    bob = await server.user('bob');
  });
  afterAll(async () => {
    ticker?.close();
    await worker?.stop();
    await server?.stop();
  });

  const settle = async (slug: string, token: string) => {
    const deadline = Date.now() + 150_000;
    for (;;) {
      const { body } = await server.api('GET', `dashboards/${slug}`, { token });
      if (body.lastRun && body.lastRun.status !== 'running') return body;
      if (Date.now() > deadline) throw new Error(`refresh of ${slug} still running: ${JSON.stringify(body.lastRun)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  /** The text the latest version shows (the refreshed cells' outputs). */
  const shown = async (slug: string, token: string) =>
    (await fetch(`${server.url}/tandem/d/${slug}`, { headers: { authorization: `Bearer ${token}` } })).text();
  const dashboard = async (slug: string, owner: string) => {
    const res = await server.api('POST', 'dashboards', { token: owner, body: { slug, title: slug, notebook: notebook('1') } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  };

  // Runs in the refresh: prints what it could reach, one `probe <name> <answer>` line each.
  const PROBES = (serverHome: string) => [
    `import { readFileSync } from 'fs';
const probe = (name: string, answer: unknown) => console.log('probe', name, JSON.stringify(answer));
const tryRead = (file: string) => { try { return readFileSync(file, 'utf8').length > 0 ? 'read' : 'empty'; } catch (e) { return (e as NodeJS.ErrnoException).code; } };
probe('server-token', tryRead(${JSON.stringify(`${serverHome}/token`)}));
probe('env', Object.keys(process.env).filter((k) => /TOKEN|DATABASE|S3|SECRET|PASSWORD/.test(k)).sort());
probe('uid', process.getuid?.());`,
    `const api = (path: string, init: RequestInit = {}) => fetch(process.env.TANDEM_URL + '/tandem/api/' + path, { ...init, headers: { authorization: 'Bearer ' + process.env.TANDEM_TOKEN, 'content-type': 'application/json' } });
const me = (await (await api('me')).json()) as { id: string; name: string };
probe('me', me.name);
probe('mint-token', (await api('tokens', { method: 'POST', body: JSON.stringify({ name: 'kept' }) })).status);
probe('admin-route', (await api('users/' + me.id + '/tokens')).status);
probe('job-token', process.env.TANDEM_TOKEN);`,
  ];
  const probesOf = (html: string) =>
    Object.fromEntries(
      [...html.matchAll(/probe (\S+) (.+)/g)].map(([, name, answer]) => [name, JSON.parse(answer!.replace(/&quot;/g, '"'))]),
    );

  it('runs as the editor who set the schedule, not as the dashboard’s creator, and reaches nothing of the server', async () => {
    await dashboard('alices', alice.token);
    await server.api('PUT', 'dashboards/alices/grants', { token: alice.token, body: { type: 'user', name: 'bob', role: 'editor' } });
    const set = await server.api('PUT', 'dashboards/alices/schedule', {
      token: bob.token,
      body: { cron: '0 6 1 1 *', notebook: notebook(...PROBES(server.ctx.config.home)) },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect((await server.api('POST', 'dashboards/alices/refresh', { token: bob.token })).status).toBe(202);
    const done = await settle('alices', bob.token);
    expect(done.lastRun, JSON.stringify(done.lastRun)).toMatchObject({ status: 'succeeded' });

    const probes = probesOf(await shown('alices', alice.token));
    expect(probes['server-token']).toBe('ENOENT'); // the server's home is not in the sandbox
    expect(probes.env).toEqual(['TANDEM_TOKEN']); // only the job's own token
    expect(probes.uid).toBe(process.getuid?.() === 0 ? 65534 : process.getuid?.());
    expect(probes.me).toBe('bob');
    expect(probes['mint-token']).toBe(403);
    expect(probes['admin-route']).toBe(403);
    // The job's token died with the job.
    expect((await server.api('GET', 'me', { token: probes['job-token'] })).status).toBe(401);
    await server.api('PUT', 'dashboards/alices/schedule', { token: bob.token, body: { cron: null } });
  }, 180_000);

  it('stops the schedule, saying why, once the person who set it can no longer edit the dashboard', async () => {
    await dashboard('revoked', alice.token);
    await server.api('PUT', 'dashboards/revoked/grants', { token: alice.token, body: { type: 'user', name: 'bob', role: 'editor' } });
    const set = await server.api('PUT', 'dashboards/revoked/schedule', {
      token: bob.token,
      body: { cron: '0 6 1 1 *', notebook: notebook('console.log("should never run")') },
    });
    const due = new Date(set.body.schedule.nextRunAt);
    await server.api('PUT', 'dashboards/revoked/grants', { token: alice.token, body: { type: 'user', name: 'bob', role: null } });

    expect(await ticker.runDue(due)).toBe(1);
    const after = (await server.api('GET', 'dashboards/revoked', { token: alice.token })).body;
    expect(after.schedule).toBeNull();
    expect(after.lastRun).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/schedule stopped: bob can no longer edit/),
      jobId: null,
    });
    expect(after.currentVersion).toBe(1);
  });
});
