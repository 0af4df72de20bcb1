import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { sampleNotebook } from './support.js';

type Who = 'anonymous' | 'outsider' | 'viewer' | 'teammate' | 'editor' | 'owner' | 'link';

describe('dashboards API and pages', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let linkKey = '';
  const page = (path: string, init: RequestInit = {}) => fetch(`${server.url}/tandem/d/${path}`, { redirect: 'manual', ...init });
  const pageAs = (who: Who, path = 'sales') => {
    if (who === 'anonymous') return page(path);
    if (who === 'link') return page(`${path}${path.includes('?') ? '&' : '?'}key=${linkKey}`);
    return page(path, { headers: { authorization: `Bearer ${tokens[who]}` } });
  };

  beforeAll(async () => {
    server = await startTestServer();
    for (const name of ['owner', 'editor', 'viewer', 'teammate', 'outsider']) tokens[name] = (await server.user(name)).token;
    const team = await server.api('POST', 'teams', { token: tokens.owner, body: { name: 'managers' } });
    await server.api('POST', `teams/${team.body.id}/members`, { body: { user: 'teammate' } });
    const created = await server.api('POST', 'dashboards', {
      token: tokens.owner,
      body: { slug: 'sales', title: 'Sales', description: 'Weekly *numbers*', notebook: sampleNotebook('v1') },
    });
    expect(created.status).toBe(201);
    for (const [type, name, role] of [
      ['user', 'viewer', 'viewer'],
      ['user', 'editor', 'editor'],
      ['team', 'managers', 'viewer'],
    ]) {
      expect((await server.api('PUT', 'dashboards/sales/grants', { token: tokens.owner, body: { type, name, role } })).status).toBe(200);
    }
    const link = await server.api('POST', 'dashboards/sales/link', { token: tokens.owner });
    linkKey = link.body.key;
  });
  afterAll(() => server.stop());

  describe('the page answers each kind of visitor', () => {
    const expected: Record<Who, number> = { anonymous: 401, outsider: 404, viewer: 200, teammate: 200, editor: 200, owner: 200, link: 200 };
    for (const [who, status] of Object.entries(expected) as [Who, number][]) {
      it(`${who} gets ${status}`, async () => {
        const res = await pageAs(who);
        expect(res.status).toBe(status);
        const html = await res.text();
        if (status === 200) expect(html).toContain('Sales report v1');
        else expect(html).not.toContain('Sales report');
      });
    }

    it('a wrong or revoked link key shows nothing, and the old key stops working when the link is replaced', async () => {
      expect((await page('sales?key=nope')).status).toBe(404);
      const old = linkKey;
      linkKey = (await server.api('POST', 'dashboards/sales/link', { token: tokens.owner })).body.key;
      expect((await page(`sales?key=${old}`)).status).toBe(404);
      expect((await pageAs('link')).status).toBe(200);
    });

    it('a link key opens only its own dashboard', async () => {
      await server.api('POST', 'dashboards', {
        token: tokens.owner,
        body: { slug: 'private-one', title: 'Private', notebook: { cells: [] } },
      });
      expect((await page(`private-one?key=${linkKey}`)).status).toBe(404);
    });

    it('only owners share, make links or delete; viewers cannot republish or read versions', async () => {
      const asViewer = { token: tokens.viewer };
      expect(
        (
          await server.api('PUT', 'dashboards/sales/grants', {
            token: tokens.editor,
            body: { type: 'user', name: 'outsider', role: 'viewer' },
          })
        ).status,
      ).toBe(403);
      expect((await server.api('POST', 'dashboards/sales/link', { token: tokens.editor })).status).toBe(403);
      expect((await server.api('DELETE', 'dashboards/sales', { token: tokens.editor })).status).toBe(403);
      expect(
        (await server.api('POST', 'dashboards/sales/versions', { ...asViewer, body: { title: 'x', notebook: { cells: [] } } })).status,
      ).toBe(403);
      expect((await server.api('GET', 'dashboards/sales/versions', asViewer)).status).toBe(403);
      expect((await server.api('GET', 'dashboards/sales', { token: tokens.outsider })).status).toBe(404);
      expect((await server.api('GET', 'dashboards/sales', { token: null })).status).toBe(401);
    });

    it('the viewer sees the dashboard but neither its schedule nor its link', async () => {
      const res = await server.api('GET', 'dashboards/sales', { token: tokens.viewer });
      expect(res.body).toMatchObject({
        slug: 'sales',
        role: 'viewer',
        schedule: null,
        lastRun: null,
        hasLink: false,
        url: '/tandem/d/sales',
      });
      expect(JSON.stringify(res.body)).not.toMatch(/sourceKey|selection/);
    });

    it('lists only dashboards the caller can see', async () => {
      const slugs = async (who: string) =>
        (await server.api('GET', 'dashboards', { token: tokens[who] })).body.items.map((d: { slug: string }) => d.slug);
      expect(await slugs('teammate')).toEqual(['sales']);
      expect(await slugs('outsider')).toEqual([]);
    });
  });

  describe('the page', () => {
    it('is standalone HTML with a strict CSP that allows only its own script, by hash', async () => {
      const res = await pageAs('viewer');
      const csp = res.headers.get('content-security-policy')!;
      const html = await res.text();
      const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
      expect(scripts).toHaveLength(1);
      expect(csp).toContain(`script-src 'sha256-${createHash('sha256').update(scripts[0]!).digest('base64')}';`);
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    });

    it('is served gzipped with an ETag, and answers 304 when unchanged', async () => {
      const res = await page('sales', { headers: { authorization: `Bearer ${tokens.viewer}`, 'accept-encoding': 'gzip' } });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      const etag = res.headers.get('etag')!;
      const again = await page('sales', { headers: { authorization: `Bearer ${tokens.viewer}`, 'if-none-match': etag } });
      expect(again.status).toBe(304);
    });

    it('shows markdown, the table (first page rendered, the rest on demand), the SVG and text, never the code', async () => {
      const html = await (await pageAs('viewer')).text();
      expect(html).toContain('<strong>managers</strong>');
      expect(html).toContain('<td>r24</td>');
      expect(html).not.toContain('<td>r25</td>');
      expect(html).toContain('40 rows');
      expect(html).toContain('data-src="sales/tables/1"');
      const rows = await (await pageAs('viewer', 'sales/tables/1')).json();
      expect(rows).toHaveLength(40);
      expect((await pageAs('viewer', 'sales/tables/0')).status).toBe(404);
      expect((await pageAs('outsider', 'sales/tables/1')).status).toBe(404);
      expect(html).toContain('fill="steelblue"');
      expect(html).toContain('total: 42');
      expect(html).not.toContain('salaries');
      expect(html).not.toContain('internal detail');
      expect(html).toContain('Last refreshed');
    });

    it('moves a ?token= sign-in into an HttpOnly cookie and drops it from the URL', async () => {
      const res = await page(`sales?token=${tokens.viewer}`);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/tandem/d/sales');
      const cookie = res.headers.get('set-cookie')!;
      expect(cookie).toMatch(/HttpOnly/);
      const again = await page('sales', { headers: { cookie: cookie.split(';')[0]! } });
      expect(again.status).toBe(200);
    });

    it('answers its state for live polling and keeps link keys in its own links', async () => {
      const state = (await (await pageAs('link', 'sales/state')).json()) as { version: string };
      expect(state.version).toBe('1');
      const html = await (await pageAs('link')).text();
      expect(html).toContain(`href="sales/pdf?key=${linkKey}"`);
    });

    it('exports a PDF through headless Chromium', async () => {
      const res = await pageAs('link', 'sales/pdf');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(
        Buffer.from(await res.arrayBuffer())
          .subarray(0, 5)
          .toString(),
      ).toBe('%PDF-');
    }, 60_000);
  });

  describe('versions', () => {
    it('republishing adds a version; the old one stays and revert brings it back', async () => {
      const republished = await server.api('POST', 'dashboards/sales/versions', {
        token: tokens.editor,
        body: { title: 'Sales (new)', notebook: sampleNotebook('v2') },
      });
      expect(republished.status).toBe(201);
      expect(republished.body).toMatchObject({ version: 2, dashboard: { title: 'Sales (new)', currentVersion: 2 } });
      expect(await (await pageAs('viewer')).text()).toContain('Sales report v2');

      const versions = await server.api('GET', 'dashboards/sales/versions', { token: tokens.editor });
      expect(versions.body.versions.map((v: { number: number; origin: string }) => [v.number, v.origin])).toEqual([
        [2, 'publish'],
        [1, 'publish'],
      ]);
      expect(await (await pageAs('editor', 'sales?version=1')).text()).toContain('Sales report v1');
      expect((await pageAs('viewer', 'sales?version=1')).status).toBe(403);

      const reverted = await server.api('POST', 'dashboards/sales/revert', { token: tokens.editor, body: { version: 1 } });
      expect(reverted.body).toMatchObject({ currentVersion: 1, title: 'Sales' });
      expect(await (await pageAs('viewer')).text()).toContain('Sales report v1');
      expect(
        (await server.api('POST', 'dashboards/sales/revert', { token: tokens.editor, body: { version: 9 } })).body.error.message,
      ).toMatch(/no version 9/);
    });
  });

  describe('validation', () => {
    it('names the bad field', async () => {
      const bad = async (body: unknown) => (await server.api('POST', 'dashboards', { token: tokens.owner, body })).body.error;
      expect(await bad({ title: '', notebook: { cells: [] } })).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/title/),
      });
      expect(await bad({ title: 'x', slug: 'Bad Slug', notebook: { cells: [] } })).toMatchObject({
        message: expect.stringMatching(/slug/),
      });
      expect(await bad({ title: 'x' })).toMatchObject({ message: expect.stringMatching(/notebook/) });
      expect(await bad({ title: 'x', notebook: { cells: [] }, selection: [{ index: 3 }] })).toMatchObject({
        message: expect.stringMatching(/selection: cell 3 does not exist/),
      });
      expect(await bad({ slug: 'sales', title: 'dup', notebook: { cells: [] } })).toMatchObject({
        code: 'ALREADY_EXISTS',
        message: expect.stringMatching(/slug/),
      });
      const schedule = await server.api('PUT', 'dashboards/sales/schedule', {
        token: tokens.editor,
        body: { cron: '99 * * * *', notebook: sampleNotebook() },
      });
      expect(schedule.body.error.message).toMatch(/cron: minute "99"/);
      const zone = await server.api('PUT', 'dashboards/sales/schedule', {
        token: tokens.editor,
        body: { cron: '0 7 * * *', timezone: 'Mars/Olympus', notebook: sampleNotebook() },
      });
      expect(zone).toMatchObject({
        status: 400,
        body: { error: { message: expect.stringMatching(/timezone: unknown time zone "Mars\/Olympus"/) } },
      });
    });

    it('schedules on a time zone’s wall clock: 07:00 in Berlin is 06:00 or 05:00 UTC', async () => {
      const res = await server.api('PUT', 'dashboards/sales/schedule', {
        token: tokens.editor,
        body: { cron: '0 7 * * *', timezone: 'Europe/Berlin', notebook: sampleNotebook() },
      });
      expect(res.status).toBe(200);
      expect(res.body.schedule).toMatchObject({ cron: '0 7 * * *', timezone: 'Europe/Berlin' });
      expect(res.body.schedule.nextRunAt).toMatch(/T0[56]:00:00.000Z$/);
      expect(
        (await server.api('PUT', 'dashboards/sales/schedule', { token: tokens.editor, body: { cron: null } })).body.schedule,
      ).toBeNull();
    });

    it('a publish whose schedule is rejected writes nothing: no dashboard, no version, and a retry makes v1', async () => {
      const before = (await server.api('GET', 'dashboards', { token: tokens.owner })).body.items.length;
      const rejected = await server.api('POST', 'dashboards', {
        token: tokens.owner,
        body: { slug: 'weekly', title: 'Weekly', notebook: sampleNotebook('w1'), schedule: { cron: '0 6 *' } },
      });
      expect(rejected).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/cron: expected 5 fields/) } },
      });
      const zone = await server.api('POST', 'dashboards', {
        token: tokens.owner,
        body: {
          slug: 'weekly',
          title: 'Weekly',
          notebook: sampleNotebook('w1'),
          schedule: { cron: '0 6 * * 1', timezone: 'Mars/Olympus' },
        },
      });
      expect(zone.body.error.message).toMatch(/timezone: unknown time zone/);
      expect((await server.api('GET', 'dashboards/weekly', { token: tokens.owner })).status).toBe(404);
      expect((await server.api('GET', 'dashboards', { token: tokens.owner })).body.items).toHaveLength(before);

      const created = await server.api('POST', 'dashboards', {
        token: tokens.owner,
        body: {
          slug: 'weekly',
          title: 'Weekly',
          notebook: sampleNotebook('w1'),
          schedule: { cron: '0 6 * * 1', timezone: 'Europe/Berlin' },
        },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ version: 1, dashboard: { schedule: { cron: '0 6 * * 1', timezone: 'Europe/Berlin' } } });

      // Republishing with a bad schedule adds no version and keeps the schedule it had.
      const again = await server.api('POST', 'dashboards/weekly/versions', {
        token: tokens.owner,
        body: { title: 'Weekly', notebook: sampleNotebook('w2'), schedule: { cron: '61 * * * *' } },
      });
      expect(again.body.error.message).toMatch(/cron: minute "61"/);
      const versions = await server.api('GET', 'dashboards/weekly/versions', { token: tokens.owner });
      expect(versions.body.versions.map((v: { number: number }) => v.number)).toEqual([1]);
      const stopped = await server.api('POST', 'dashboards/weekly/versions', {
        token: tokens.owner,
        body: { title: 'Weekly', notebook: sampleNotebook('w2'), schedule: { cron: null } },
      });
      expect(stopped.body).toMatchObject({ version: 2, dashboard: { schedule: null } });
    });

    it('derives a unique slug from the title when none is given', async () => {
      const res = await server.api('POST', 'dashboards', {
        token: tokens.owner,
        body: { title: 'Q4 Revenue — EMEA', notebook: { cells: [] } },
      });
      expect(res.body.dashboard.slug).toMatch(/^q4-revenue-emea-[0-9a-f]{6}$/);
    });
  });

  describe('templates', () => {
    it('lists the templates with titles and serves each notebook', async () => {
      const list = await server.api('GET', 'templates', { token: tokens.viewer });
      expect(list.body.templates.map((t: { name: string }) => t.name)).toEqual([
        'compare-models',
        'dashboard',
        'explore-data',
        'retrain-daily',
        'train-on-gpu',
        'train-on-spark',
      ]);
      expect(list.body.templates[2]).toMatchObject({ title: 'Explore a dataset', description: expect.stringMatching(/SQL/) });
      const nb = await server.api('GET', 'templates/train-on-spark', { token: tokens.viewer });
      expect(JSON.stringify(nb.body.cells)).toContain('spark.train');
      expect((await server.api('GET', 'templates/nope', { token: tokens.viewer })).status).toBe(404);
      expect((await server.api('GET', 'templates', { token: null })).status).toBe(401);
    });
  });
});
