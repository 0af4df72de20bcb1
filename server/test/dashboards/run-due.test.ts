import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardRefresh, type DashboardRefresh } from '../../src/dashboards/dashboards.refresh.js';
import type { RunningWorker } from '../../src/worker/agent.js';
import { startNotebookWorker } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Real headless runs: a worker agent's notebook jobs execute these with nbclient on the Tandem kernel.
const notebook = (line: string) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)', language: 'typescript' } },
  cells: [
    { cell_type: 'markdown', source: '# Yearly numbers', metadata: {} },
    { cell_type: 'code', source: `console.log(${JSON.stringify(line)})`, metadata: {}, outputs: [], execution_count: null },
  ],
});

const MINUTE = 60_000;

/**
 * The server's tick calls `runDue()` every 30 s with the wall clock. Its clock can be passed in, so
 * these tests drive the tick at chosen instants, on a second service over the same database and
 * artifacts (as a second server would be). Schedules here are yearly, so the server's own tick
 * (with today's time) never finds them due.
 */
describe('scheduled refresh: the runDue() tick', () => {
  let server: TestServer;
  let ticker: DashboardRefresh;

  let worker: RunningWorker;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    ticker = createDashboardRefresh(server.ctx);
    worker = await startNotebookWorker(server);
  });
  afterAll(async () => {
    ticker.close();
    await worker?.stop();
    await server.stop();
  });

  // Each test clears its schedules, so a later test's far-future tick finds only its own.
  const slugs: string[] = [];
  afterEach(async () => {
    for (const slug of slugs.splice(0)) await server.api('PUT', `dashboards/${slug}/schedule`, { body: { cron: null } });
  });

  const dashboard = async (slug: string) => (await server.api('GET', `dashboards/${slug}`)).body;
  const versions = async (slug: string) => (await server.api('GET', `dashboards/${slug}/versions`)).body.versions as any[];
  /** Waits (on what the API shows) until the refresh the tick started has finished. */
  const settled = async (slug: string, timeoutMs = 150_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const body = await dashboard(slug);
      if (body.lastRun && body.lastRun.status !== 'running') return body;
      if (Date.now() > deadline) throw new Error(`refresh of ${slug} did not finish: ${JSON.stringify(body.lastRun)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const scheduled = async (slug: string, cron: string, line: string) => {
    expect((await server.api('POST', 'dashboards', { body: { slug, title: slug, notebook: notebook('published') } })).status).toBe(201);
    slugs.push(slug);
    const res = await server.api('PUT', `dashboards/${slug}/schedule`, { body: { cron, notebook: notebook(line) } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return new Date(res.body.schedule.nextRunAt);
  };

  it('a schedule runs once when its time comes, and not again until its next time', async () => {
    const due = await scheduled('yearly', '0 6 1 1 *', 'refreshed by the tick');
    expect(due.toISOString()).toMatch(/-01-01T06:00:00.000Z$/);

    expect(await ticker.runDue(new Date(due.getTime() - MINUTE))).toBe(0);
    expect((await dashboard('yearly')).lastRun).toBeNull();

    expect(await ticker.runDue(due)).toBe(1);
    const first = await settled('yearly');
    expect(first.lastRun).toMatchObject({ status: 'succeeded', error: null, at: due.toISOString() });
    expect(first.currentVersion).toBe(2);
    const nextYear = new Date(Date.UTC(due.getUTCFullYear() + 1, 0, 1, 6));
    expect(first.schedule.nextRunAt).toBe(nextYear.toISOString());
    expect((await versions('yearly')).map((v) => [v.number, v.origin])).toEqual([
      [2, 'schedule'],
      [1, 'publish'],
    ]);
    const html = await (await fetch(`${server.url}/tandem/d/yearly`, { headers: { authorization: `Bearer ${server.adminToken}` } })).text();
    expect(html).toContain('refreshed by the tick');

    // Later ticks before the next time find nothing due.
    for (const at of [due, new Date(due.getTime() + MINUTE), new Date(nextYear.getTime() - MINUTE)]) {
      expect({ at, started: await ticker.runDue(at) }).toEqual({ at, started: 0 });
    }
    expect((await dashboard('yearly')).currentVersion).toBe(2);

    // The next time comes: it runs once more.
    expect(await ticker.runDue(nextYear)).toBe(1);
    const second = await settled('yearly');
    expect(second).toMatchObject({ currentVersion: 3, lastRun: { status: 'succeeded', at: nextYear.toISOString() } });
    expect(second.schedule.nextRunAt).toBe(new Date(Date.UTC(due.getUTCFullYear() + 2, 0, 1, 6)).toISOString());
  }, 300_000);

  it('a tick long after a missed time runs the refresh once, not once per missed time', async () => {
    const due = await scheduled('missed', '0 6 1 1 *', 'caught up');
    const muchLater = new Date(Date.UTC(due.getUTCFullYear() + 3, 5, 15));
    expect(await ticker.runDue(muchLater)).toBe(1);
    expect(await ticker.runDue(muchLater)).toBe(0);
    const done = await settled('missed');
    expect(done.currentVersion).toBe(2);
    expect(done.schedule.nextRunAt).toBe(new Date(Date.UTC(due.getUTCFullYear() + 4, 0, 1, 6)).toISOString());
  }, 300_000);

  it('two servers ticking at the same instant start the refresh once between them', async () => {
    const due = await scheduled('contended', '0 6 1 1 *', 'only once');
    const other = createDashboardRefresh(server.ctx);
    try {
      const started = await Promise.all([ticker.runDue(due), other.runDue(due), ticker.runDue(due), other.runDue(due)]);
      expect(started.reduce((a, b) => a + b, 0)).toBe(1);
      const done = await settled('contended');
      expect(done.currentVersion).toBe(2);
      expect((await versions('contended')).filter((v) => v.origin === 'schedule')).toHaveLength(1);
    } finally {
      await other.close();
    }
  }, 300_000);

  it('the server’s own tick (every 30 s, real clock) starts a schedule that has come due', async () => {
    const due = await scheduled('every-minute', '* * * * *', 'from the real tick');
    expect(due.getTime() - Date.now()).toBeLessThanOrEqual(MINUTE);
    // Due within a minute, then picked up by a tick at most 30 s later; the run itself takes seconds.
    const done = await settled('every-minute', 240_000);
    expect(done.lastRun).toMatchObject({ status: 'succeeded', error: null });
    expect(new Date(done.lastRun.at).getTime()).toBeGreaterThanOrEqual(due.getTime());
    expect(new Date(done.schedule.nextRunAt).getTime()).toBeGreaterThan(new Date(done.lastRun.at).getTime());
    expect(done.schedule.nextRunAt).toMatch(/:00\.000Z$/);
    expect((await versions('every-minute')).some((v) => v.origin === 'schedule')).toBe(true);
  }, 300_000);

  it('a cleared schedule is never due', async () => {
    const due = await scheduled('cleared', '0 6 1 1 *', 'never');
    expect((await server.api('PUT', 'dashboards/cleared/schedule', { body: { cron: null } })).status).toBe(200);
    expect(await ticker.runDue(new Date(due.getTime() + 10 * 365 * 24 * 60 * MINUTE))).toBe(0);
    expect((await dashboard('cleared')).lastRun).toBeNull();
  });
});
