import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../src/worker/agent.js';
import { startNotebookWorker, waitForJob } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Real headless runs: a worker agent's notebook jobs execute these with nbclient on the Tandem kernel.
const cell = (source: string) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null });
const notebook = (...sources: string[]) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)', language: 'typescript' } },
  cells: [{ cell_type: 'markdown', source: '# Nightly numbers', metadata: {} }, ...sources.map(cell)],
});
/** What was published by hand: a cell with its output, as JupyterLab saves it. */
const published = (text: string) => ({
  ...notebook(),
  cells: [{ ...cell('report()'), outputs: [{ output_type: 'stream', name: 'stdout', text: `${text}\n` }] }],
});

describe('scheduled refresh with the Tandem kernel', () => {
  let server: TestServer;

  /** The dashboard once its refresh has ended (lastRun no longer running). */
  const settle = async (slug: string, timeoutMs = 100_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await server.api('GET', `dashboards/${slug}`);
      if (body.lastRun?.status !== 'running') return body;
      if (Date.now() > deadline) throw new Error(`the refresh of ${slug} was still running after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const page = async (slug: string) =>
    (await fetch(`${server.url}/tandem/d/${slug}`, { headers: { authorization: `Bearer ${server.adminToken}` } })).text();
  const create = async (slug: string, text = 'published by hand') => {
    const res = await server.api('POST', 'dashboards', { body: { slug, title: slug, notebook: published(text) } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.dashboard.currentVersion).toBe(1);
  };

  let worker: RunningWorker;

  beforeAll(async () => {
    server = await startTestServer();
    worker = await startNotebookWorker(server);
  });
  afterAll(async () => {
    await worker?.stop();
    await server.stop();
  });

  it('re-runs the notebook headless and publishes the fresh outputs as a new version', async () => {
    await create('nightly');
    const scheduled = await server.api('PUT', 'dashboards/nightly/schedule', {
      body: { cron: '0 6 * * *', notebook: notebook('const rows = [1, 2, 3].map((n) => n * 14);\nconsole.log(`answer ${rows.at(-1)}`);') },
    });
    expect(scheduled.body.schedule).toEqual({ cron: '0 6 * * *', timezone: 'UTC', nextRunAt: expect.stringMatching(/T06:00:00.000Z$/) });
    expect((await server.api('POST', 'dashboards/nightly/refresh')).status).toBe(202);
    const done = await settle('nightly');
    expect(done.lastRun).toMatchObject({ status: 'succeeded', error: null });
    expect(done.currentVersion).toBe(2);
    // 42 is only in the output of the executed cell, never in its source.
    const html = await page('nightly');
    expect(html).toContain('answer 42');
    expect(html).not.toContain('published by hand');
    const versions = (await server.api('GET', 'dashboards/nightly/versions')).body.versions;
    expect(versions.map((v: { number: number; origin: string }) => [v.number, v.origin])).toEqual([
      [2, 'schedule'],
      [1, 'publish'],
    ]);
  }, 120_000);

  it('a failing run is visible with its error and keeps the last good version', async () => {
    await create('failing', 'last good numbers');
    await server.api('PUT', 'dashboards/failing/schedule', {
      body: { cron: '@hourly', notebook: notebook('throw new Error("source table sales_2026 is missing")') },
    });
    expect((await server.api('POST', 'dashboards/failing/refresh')).status).toBe(202);
    const done = await settle('failing');
    expect(done.lastRun.status).toBe('failed');
    expect(done.lastRun.error).toMatch(/a cell failed: .*source table sales_2026 is missing/);
    expect(done.currentVersion).toBe(1);
    expect(await page('failing')).toContain('last good numbers');
  }, 120_000);

  it('a schedule set after publishing, with the notebook alone, refreshes only the cells chosen at publish', async () => {
    const source = notebook('console.log("kept figure")', 'console.log("Published version 1: internal link")');
    const res = await server.api('POST', 'dashboards', {
      body: { slug: 'chosen', title: 'Chosen', notebook: source, selection: [{ index: 0 }, { index: 1 }] },
    });
    expect(res.status).toBe(201);
    // As the Dashboards panel sets it: cron, time zone and the saved notebook, no selection.
    const scheduled = await server.api('PUT', 'dashboards/chosen/schedule', {
      body: { cron: '@daily', timezone: 'UTC', notebook: source },
    });
    expect(scheduled.status).toBe(200);
    expect((await server.api('POST', 'dashboards/chosen/refresh')).status).toBe(202);
    expect((await settle('chosen')).lastRun).toMatchObject({ status: 'succeeded' });
    const html = await page('chosen');
    expect(html).toContain('kept figure');
    expect(html).not.toContain('Published version');
  }, 120_000);

  it('refuses a refresh without a schedule, and clearing the schedule forgets the notebook', async () => {
    await create('manual');
    const refused = await server.api('POST', 'dashboards/manual/refresh');
    expect(refused).toMatchObject({ status: 409, body: { error: { message: expect.stringMatching(/has no schedule/) } } });

    await create('cleared');
    const { body } = await server.api('PUT', 'dashboards/cleared/schedule', { body: { cron: '@daily', notebook: notebook('1') } });
    const source = `dashboards/${body.id}/source.ipynb`;
    expect(await server.ctx.artifacts.stat(source)).toBeDefined();
    const cleared = await server.api('PUT', 'dashboards/cleared/schedule', { body: { cron: null } });
    expect(cleared.body.schedule).toBeNull();
    expect(await server.ctx.artifacts.stat(source)).toBeUndefined();
    expect((await server.api('POST', 'dashboards/cleared/refresh')).status).toBe(409);
  });

  it('a refresh is a notebook job: cancelling it ends the run as failed, and the last good version stays', async () => {
    await create('slow', 'last good numbers');
    await server.api('PUT', 'dashboards/slow/schedule', {
      body: { cron: '@daily', notebook: notebook('console.log("started")', 'await new Promise((r) => setTimeout(r, 120_000));') },
    });
    const started = await server.api('POST', 'dashboards/slow/refresh');
    expect(started.status).toBe(202);
    const jobId = started.body.lastRun.jobId as string;
    expect(jobId).toEqual(expect.any(String));
    // The job is the server's record of the run: kind notebook, run as the person who asked.
    const job = await waitForJob(server, jobId, (j) => j.status === 'running' && j.progress > 0, 90_000);
    expect(job).toMatchObject({ kind: 'notebook', name: 'refresh dashboard slow' });
    expect((await server.api('POST', `jobs/${jobId}/cancel`)).status).toBe(200);
    const done = await settle('slow', 60_000);
    expect(done.lastRun).toMatchObject({ status: 'failed', error: expect.stringMatching(/cancelled/), jobId });
    expect(done.currentVersion).toBe(1);
    expect(await page('slow')).toContain('last good numbers');
  }, 150_000);
});
