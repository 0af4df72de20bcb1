// What the Dashboards panel in JupyterLab relies on after publishing: the list with each
// dashboard's state, its versions, its schedule, its secret link and deleting it, and who may not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { sampleNotebook } from './support.js';

type User = { id: string; token: string };

describe('managing dashboards after publishing', () => {
  let server: TestServer;
  let owner: User;
  let editor: User;
  let viewer: User;
  let outsider: User;
  let count = 0;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    [owner, editor, viewer, outsider] = await Promise.all(['owner', 'editor', 'viewer', 'outsider'].map((n) => server.user(n)));
  });
  afterAll(() => server.stop());

  const as = (user: User | null, method: string, path: string, body?: unknown) =>
    server.api(method, path, { token: user ? user.token : null, body });
  const visit = async (path: string) => {
    const res = await fetch(`${server.url}${path}`, { redirect: 'manual' });
    await res.arrayBuffer();
    return res.status;
  };

  /** A dashboard the owner published, shared with the editor and the viewer, with a secret link. */
  const published = async () => {
    const slug = `board-${++count}`;
    expect((await as(owner, 'POST', 'dashboards', { slug, title: `Board ${count}`, notebook: sampleNotebook(slug) })).status).toBe(201);
    for (const [name, role] of [
      ['editor', 'editor'],
      ['viewer', 'viewer'],
    ])
      expect((await as(owner, 'PUT', `dashboards/${slug}/grants`, { type: 'user', name, role })).status).toBe(200);
    const link = await as(owner, 'POST', `dashboards/${slug}/link`);
    return { slug, url: link.body.url as string };
  };

  describe('the list', () => {
    it('tells editors each dashboard’s latest version, schedule, last refresh with its job, and whether it is live', async () => {
      const { slug } = await published();
      await as(editor, 'POST', `dashboards/${slug}/versions`, { title: 'Board, again', notebook: sampleNotebook('v2') });
      await as(editor, 'PUT', `dashboards/${slug}/schedule`, {
        cron: '0 6 * * 1-5',
        timezone: 'Europe/Berlin',
        notebook: sampleNotebook(),
      });
      // No worker runs here: the refresh stays a queued notebook job, which is what the panel links to.
      const refresh = await as(editor, 'POST', `dashboards/${slug}/refresh`);
      expect(refresh.status).toBe(202);

      const item = (await as(editor, 'GET', 'dashboards')).body.items.find((d: { slug: string }) => d.slug === slug);
      expect(item).toMatchObject({
        title: 'Board, again',
        currentVersion: 2,
        role: 'editor',
        hasLink: true,
        liveNotebookId: null,
        url: `/tandem/d/${slug}`,
        schedule: { cron: '0 6 * * 1-5', timezone: 'Europe/Berlin', nextRunAt: expect.any(String) },
        lastRun: { status: 'running', error: null, jobId: expect.any(String) },
      });
      const job = await as(editor, 'GET', `jobs/${item.lastRun.jobId}`);
      expect(job.body).toMatchObject({ kind: 'notebook', name: `refresh dashboard ${slug}` });
    });

    it('tells viewers neither the schedule, the refresh nor whether a link exists', async () => {
      const { slug } = await published();
      await as(owner, 'PUT', `dashboards/${slug}/schedule`, { cron: '@daily', notebook: sampleNotebook() });
      const item = (await as(viewer, 'GET', 'dashboards')).body.items.find((d: { slug: string }) => d.slug === slug);
      expect(item).toMatchObject({ role: 'viewer', schedule: null, lastRun: null, hasLink: false });
    });
  });

  describe('versions and schedule', () => {
    it('versions come newest first, each with its origin, for editors only', async () => {
      const { slug } = await published();
      await as(owner, 'POST', `dashboards/${slug}/versions`, { title: 'Second', notebook: sampleNotebook('v2') });
      const versions = await as(editor, 'GET', `dashboards/${slug}/versions`);
      expect(versions.body.versions.map((v: { number: number; title: string; origin: string }) => [v.number, v.title, v.origin])).toEqual([
        [2, 'Second', 'publish'],
        [1, `Board ${count}`, 'publish'],
      ]);
      expect((await as(viewer, 'GET', `dashboards/${slug}/versions`)).status).toBe(403);
    });

    it('an editor changes an existing schedule without sending the notebook again, and stops it', async () => {
      const { slug } = await published();
      await as(owner, 'PUT', `dashboards/${slug}/schedule`, { cron: '@daily', notebook: sampleNotebook() });
      const changed = await as(editor, 'PUT', `dashboards/${slug}/schedule`, { cron: '30 7 * * 1', timezone: 'America/New_York' });
      expect(changed.status).toBe(200);
      expect(changed.body.schedule).toMatchObject({ cron: '30 7 * * 1', timezone: 'America/New_York' });
      expect((await as(editor, 'PUT', `dashboards/${slug}/schedule`, { cron: null })).body.schedule).toBeNull();
      // Without a kept notebook, a new schedule needs one; the message names the field.
      const refused = await as(editor, 'PUT', `dashboards/${slug}/schedule`, { cron: '@daily' });
      expect(refused).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^notebook: /) } } });
    });

    it('the cells chosen at publish stay chosen when a schedule is set later or stopped', async () => {
      const slug = `chosen-${++count}`;
      const selection = [{ index: 0 }, { index: 2, code: true }];
      await as(owner, 'POST', 'dashboards', { slug, title: 'Chosen', notebook: sampleNotebook(), selection });
      const chosen = async () =>
        (await server.ctx.db.query<{ selection: unknown }>('SELECT selection FROM dashboards WHERE slug = $1', [slug]))[0]!.selection;
      const stored = [
        { index: 0, code: false, outputs: true },
        { index: 2, code: true, outputs: true },
      ];
      expect(await chosen()).toEqual(stored);
      await as(owner, 'PUT', `dashboards/${slug}/schedule`, { cron: '@daily', notebook: sampleNotebook() });
      expect(await chosen()).toEqual(stored);
      await as(owner, 'PUT', `dashboards/${slug}/schedule`, { cron: null });
      expect(await chosen()).toEqual(stored);
      // A republish is a new choice.
      await as(owner, 'POST', `dashboards/${slug}/versions`, { title: 'Chosen', notebook: sampleNotebook(), selection: [{ index: 1 }] });
      expect(await chosen()).toEqual([{ index: 1, code: false, outputs: true }]);
    });
  });

  describe('the secret link', () => {
    it('a revoked link stops working at once, even for a page just served from the visit cache', async () => {
      const { slug, url } = await published();
      const key = new URL(url, server.url).searchParams.get('key')!;
      expect(await visit(url)).toBe(200);
      expect((await as(owner, 'DELETE', `dashboards/${slug}/link`)).status).toBe(204);
      expect(await visit(url)).toBe(404);
      expect(await visit(`/tandem/d/${slug}/state?key=${key}`)).toBe(404);
      expect(await visit(`/tandem/d/${slug}/pdf?key=${key}`)).toBe(404);
      expect((await as(owner, 'GET', `dashboards/${slug}`)).body.hasLink).toBe(false);
    });

    it('replacing it answers a new link that works while the old one is refused', async () => {
      const { slug, url } = await published();
      const replaced = await as(owner, 'POST', `dashboards/${slug}/link`);
      expect(replaced.body.url).toMatch(new RegExp(`^/tandem/d/${slug}\\?key=[\\w-]{32}$`));
      expect(await visit(url)).toBe(404);
      expect(await visit(replaced.body.url)).toBe(200);
    });
  });

  describe('who may not', () => {
    it('a viewer cannot revoke or replace the link, change the schedule, revert or delete; everything stays', async () => {
      const { slug, url } = await published();
      for (const [method, path, body] of [
        ['DELETE', `dashboards/${slug}/link`],
        ['POST', `dashboards/${slug}/link`],
        ['PUT', `dashboards/${slug}/schedule`, { cron: '@daily', notebook: sampleNotebook() }],
        ['POST', `dashboards/${slug}/revert`, { version: 1 }],
        ['POST', `dashboards/${slug}/refresh`],
        ['DELETE', `dashboards/${slug}`],
      ] as const)
        expect({ method, path, status: (await as(viewer, method, path, body)).status }).toEqual({ method, path, status: 403 });
      expect(await visit(url)).toBe(200);
      expect((await as(owner, 'GET', `dashboards/${slug}`)).body).toMatchObject({ hasLink: true, schedule: null });
    });

    it('an editor cannot revoke the link or delete the dashboard; the link keeps working', async () => {
      const { slug, url } = await published();
      expect((await as(editor, 'DELETE', `dashboards/${slug}/link`)).status).toBe(403);
      expect((await as(editor, 'DELETE', `dashboards/${slug}`)).status).toBe(403);
      expect(await visit(url)).toBe(200);
    });

    it('another user sees nothing: not in the list, and every route answers as for a dashboard that does not exist', async () => {
      const { slug, url } = await published();
      expect((await as(outsider, 'GET', 'dashboards')).body.items).toEqual([]);
      const routes = (s: string) =>
        [
          ['GET', `dashboards/${s}`],
          ['GET', `dashboards/${s}/versions`],
          ['PUT', `dashboards/${s}/schedule`, { cron: '@daily', notebook: sampleNotebook() }],
          ['POST', `dashboards/${s}/link`],
          ['DELETE', `dashboards/${s}/link`],
          ['POST', `dashboards/${s}/revert`, { version: 1 }],
          ['DELETE', `dashboards/${s}`],
        ] as const;
      for (const [method, path, body] of routes(slug)) {
        const theirs = await as(outsider, method, path, body);
        const missing = await as(outsider, method, path.replace(slug, 'no-such-board'), body);
        expect({ path, status: theirs.status }).toEqual({ path, status: 404 });
        expect(theirs.body.error.message.replace(slug, 'no-such-board')).toBe(missing.body.error.message);
      }
      expect(await visit(url)).toBe(200);
      expect((await as(owner, 'GET', `dashboards/${slug}`)).status).toBe(200);
    });

    it('a revoked API token lists nothing and changes nothing', async () => {
      const { slug, url } = await published();
      const made = await as(owner, 'POST', 'tokens', { name: 'laptop' });
      const laptop = { id: owner.id, token: made.body.token as string };
      expect((await as(laptop, 'GET', 'dashboards')).status).toBe(200);
      expect((await as(owner, 'DELETE', `tokens/${made.body.id}`)).status).toBe(204);
      for (const [method, path] of [
        ['GET', 'dashboards'],
        ['DELETE', `dashboards/${slug}/link`],
        ['POST', `dashboards/${slug}/link`],
        ['DELETE', `dashboards/${slug}`],
      ] as const)
        expect({ method, path, status: (await as(laptop, method, path)).status }).toEqual({ method, path, status: 401 });
      expect(await visit(url)).toBe(200);
    });

    it('hostile slugs are refused with a 4xx and touch nothing', async () => {
      const { slug, url } = await published();
      const hostile = [
        '..%2F..%2Fetc%2Fpasswd',
        encodeURIComponent(`${slug}' OR '1'='1`),
        encodeURIComponent(`${slug}; DROP TABLE dashboards; --`),
        encodeURIComponent('<script>alert(1)</script>'),
        '%00',
        encodeURIComponent('Ｂoard-1'),
        'x'.repeat(5000),
        `-${slug}`,
        slug.toUpperCase(),
      ];
      for (const bad of hostile) {
        for (const [method, path] of [
          ['GET', `dashboards/${bad}`],
          ['GET', `dashboards/${bad}/versions`],
          ['POST', `dashboards/${bad}/link`],
          ['DELETE', `dashboards/${bad}/link`],
          ['DELETE', `dashboards/${bad}`],
        ] as const) {
          const { status } = await as(owner, method, path);
          expect({ path: path.slice(0, 80), status: status >= 400 && status < 500 }).toEqual({ path: path.slice(0, 80), status: true });
        }
        const page = await visit(`/tandem/d/${bad}`);
        expect({ bad: bad.slice(0, 80), page: page >= 400 && page < 500 }).toEqual({ bad: bad.slice(0, 80), page: true });
      }
      expect((await as(owner, 'GET', `dashboards/${slug}`)).status).toBe(200);
      expect(await visit(url)).toBe(200);
    });

    it('a hostile schedule is refused and leaves none', async () => {
      const { slug } = await published();
      for (const body of [
        { cron: "0 6 * * 1'; DROP TABLE dashboards; --", notebook: sampleNotebook() },
        { cron: '* '.repeat(500), notebook: sampleNotebook() },
        { cron: '@daily', timezone: '../../etc/localtime', notebook: sampleNotebook() },
        { cron: '@daily', timezone: 'x'.repeat(1000), notebook: sampleNotebook() },
        { cron: '@daily', notebook: { cells: 'not a list' } },
        { cron: ['@daily'] },
      ])
        expect((await as(owner, 'PUT', `dashboards/${slug}/schedule`, body)).status).toBe(400);
      expect((await as(owner, 'GET', `dashboards/${slug}`)).body.schedule).toBeNull();
    });
  });
});
