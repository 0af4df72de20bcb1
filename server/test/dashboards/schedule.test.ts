import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

// Real headless runs: nbclient from the venv executes these with the Tandem kernel.
const cell = (source: string) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null });
const notebook = (...sources: string[]) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)', language: 'typescript' } },
  cells: [{ cell_type: 'markdown', source: '# Nightly numbers', metadata: {} }, ...sources.map(cell)],
});

describe('scheduled refresh with the Tandem kernel', () => {
  let server: TestServer;

  const settle = async (slug: string) => {
    for (;;) {
      const { body } = await server.api('GET', `dashboards/${slug}`);
      if (body.lastRun?.status !== 'running') return body;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const page = async (slug: string) =>
    (await fetch(`${server.url}/tandem/d/${slug}`, { headers: { authorization: `Bearer ${server.adminToken}` } })).text();

  beforeAll(async () => {
    server = await startTestServer();
    await server.api('POST', 'dashboards', { body: { slug: 'nightly', title: 'Nightly', notebook: notebook() } });
  });
  afterAll(() => server.stop());

  it('re-runs the notebook headless and publishes the fresh outputs as a new version', async () => {
    const scheduled = await server.api('PUT', 'dashboards/nightly/schedule', {
      body: { cron: '0 6 * * *', notebook: notebook('const rows = [1, 2, 3].map((n) => n * 14);\nconsole.log(`answer ${rows.at(-1)}`);') },
    });
    expect(scheduled.body.schedule).toEqual({ cron: '0 6 * * *', timezone: 'UTC', nextRunAt: expect.stringMatching(/T06:00:00.000Z$/) });
    expect((await server.api('POST', 'dashboards/nightly/refresh')).status).toBe(202);
    const done = await settle('nightly');
    expect(done.lastRun).toMatchObject({ status: 'succeeded', error: null });
    expect(done.currentVersion).toBe(2);
    expect(await page('nightly')).toContain('answer 42');
    const versions = (await server.api('GET', 'dashboards/nightly/versions')).body.versions;
    expect(versions[0]).toMatchObject({ number: 2, origin: 'schedule' });
  }, 120_000);

  it('a failing run is visible with its error and keeps the last good version', async () => {
    await server.api('PUT', 'dashboards/nightly/schedule', {
      body: { cron: '@hourly', notebook: notebook('throw new Error("source table sales_2026 is missing")') },
    });
    await server.api('POST', 'dashboards/nightly/refresh');
    const done = await settle('nightly');
    expect(done.lastRun.status).toBe('failed');
    expect(done.lastRun.error).toMatch(/a cell failed: .*source table sales_2026 is missing/);
    expect(done.currentVersion).toBe(2);
    expect(await page('nightly')).toContain('answer 42');
  }, 120_000);

  it('refuses a refresh without a schedule, and clearing the schedule forgets the notebook', async () => {
    await server.api('POST', 'dashboards', { body: { slug: 'manual', title: 'Manual', notebook: notebook() } });
    const refused = await server.api('POST', 'dashboards/manual/refresh');
    expect(refused).toMatchObject({ status: 409, body: { error: { message: expect.stringMatching(/has no schedule/) } } });
    const cleared = await server.api('PUT', 'dashboards/nightly/schedule', { body: { cron: null } });
    expect(cleared.body.schedule).toBeNull();
    expect((await server.api('POST', 'dashboards/nightly/refresh')).status).toBe(409);
  });

  it('shutting the server down stops a refresh in flight instead of waiting for it', async () => {
    await server.api('PUT', 'dashboards/nightly/schedule', {
      body: { cron: '@daily', notebook: notebook('await new Promise((r) => setTimeout(r, 120_000));') },
    });
    expect((await server.api('POST', 'dashboards/nightly/refresh')).status).toBe(202);
    await new Promise((r) => setTimeout(r, 3000));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);
});
