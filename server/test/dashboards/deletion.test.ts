import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { sampleNotebook } from './support.js';

type User = { id: string; token: string };

describe('deleting dashboards and their share links', () => {
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

  const page = (path: string, token?: string) =>
    fetch(`${server.url}/tandem/d/${path}`, { redirect: 'manual', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const status = async (path: string, token?: string) => {
    const res = await page(path, token);
    await res.arrayBuffer();
    return res.status;
  };

  /** A dashboard shared with the editor and the viewer, with a secret link; answers its slug, id and link key. */
  const published = async (marker = `d${++count}`) => {
    const slug = `report-${marker}`;
    const created = await server.api('POST', 'dashboards', {
      token: owner.token,
      body: { slug, title: `Report ${marker}`, notebook: sampleNotebook(marker) },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const [name, role] of [
      ['editor', 'editor'],
      ['viewer', 'viewer'],
    ]) {
      await server.api('PUT', `dashboards/${slug}/grants`, { token: owner.token, body: { type: 'user', name, role } });
    }
    const link = await server.api('POST', `dashboards/${slug}/link`, { token: owner.token });
    expect(link.status).toBe(201);
    return { slug, id: created.body.dashboard.id as string, key: link.body.key as string, url: link.body.url as string };
  };

  describe('deleting a dashboard', () => {
    it('only its owner may: editors and viewers get 403, outsiders 404, and it stays', async () => {
      const { slug } = await published();
      expect((await server.api('DELETE', `dashboards/${slug}`, { token: editor.token })).status).toBe(403);
      expect((await server.api('DELETE', `dashboards/${slug}`, { token: viewer.token })).status).toBe(403);
      expect((await server.api('DELETE', `dashboards/${slug}`, { token: outsider.token })).status).toBe(404);
      expect((await server.api('DELETE', `dashboards/${slug}`, { token: null })).status).toBe(401);
      expect((await server.api('GET', `dashboards/${slug}`, { token: viewer.token })).status).toBe(200);
    });

    it('makes it gone for everyone: API, list, page, table, state and the share link all answer 404', async () => {
      const { slug, key, url } = await published();
      // Seen first, so nothing is answered from what was cached when it existed.
      for (const token of [owner.token, editor.token, viewer.token]) expect(await status(slug, token)).toBe(200);
      expect((await fetch(`${server.url}${url}`)).status).toBe(200);
      expect((await fetch(`${server.url}/tandem/d/${slug}/state?key=${key}`)).status).toBe(200);

      expect((await server.api('DELETE', `dashboards/${slug}`, { token: owner.token })).status).toBe(204);

      for (const [who, token] of Object.entries({ owner: owner.token, editor: editor.token, viewer: viewer.token })) {
        expect({ who, status: (await server.api('GET', `dashboards/${slug}`, { token })).status }).toEqual({ who, status: 404 });
        const listed = (await server.api('GET', 'dashboards', { token })).body.items.map((d: any) => d.slug);
        expect(listed).not.toContain(slug);
        expect({ who, page: await status(slug, token) }).toEqual({ who, page: 404 });
      }
      const viaLink = await fetch(`${server.url}${url}`);
      expect(viaLink.status).toBe(404);
      expect(await viaLink.text()).not.toContain('Sales report');
      expect((await fetch(`${server.url}/tandem/d/${slug}/state?key=${key}`)).status).toBe(404);
      expect((await fetch(`${server.url}/tandem/d/${slug}/tables/0?key=${key}`)).status).toBe(404);
      expect((await server.api('GET', `dashboards/${slug}/versions`, { token: owner.token })).status).toBe(404);
      expect((await server.api('DELETE', `dashboards/${slug}`, { token: owner.token })).status).toBe(404);
    });

    it('removes its versions and grants and leaves an audit entry', async () => {
      const { slug, id } = await published();
      await server.api('DELETE', `dashboards/${slug}`, { token: owner.token });
      const { db } = server.ctx;
      expect(await db.query('SELECT 1 FROM dashboard_versions WHERE dashboard_id = $1', [id])).toEqual([]);
      expect(await db.query(`SELECT 1 FROM grants WHERE resource_type = 'dashboard' AND resource_id = $1`, [id])).toEqual([]);
      const audits = await db.query<{ action: string; details: any }>(
        `SELECT action, details FROM audit_log WHERE resource_type = 'dashboard' AND resource_id = $1 ORDER BY id`,
        [id],
      );
      expect(audits.at(-1)).toEqual({ action: 'dashboard.delete', details: { slug } });
    });

    it('forgets the notebook a schedule kept in the artifact store', async () => {
      const { slug, id } = await published();
      const scheduled = await server.api('PUT', `dashboards/${slug}/schedule`, {
        token: owner.token,
        body: { cron: '0 6 1 1 *', notebook: sampleNotebook('kept') },
      });
      expect(scheduled.status).toBe(200);
      const key = `dashboards/${id}/source.ipynb`;
      expect(await server.ctx.artifacts.stat(key)).toBeDefined();
      await server.api('DELETE', `dashboards/${slug}`, { token: owner.token });
      expect(await server.ctx.artifacts.stat(key)).toBeUndefined();
    });

    it('its slug can be published again, and the old link does not open the new dashboard', async () => {
      const { slug, url } = await published('reused');
      await server.api('DELETE', `dashboards/${slug}`, { token: owner.token });
      const again = await server.api('POST', 'dashboards', {
        token: owner.token,
        body: { slug, title: 'Again', notebook: sampleNotebook('new') },
      });
      expect(again.status).toBe(201);
      expect(await status(slug, owner.token)).toBe(200);
      expect((await fetch(`${server.url}${url}`)).status).toBe(404);
      // Nobody the old one was shared with sees the new one.
      expect((await server.api('GET', `dashboards/${slug}`, { token: viewer.token })).status).toBe(404);
      expect(await status(slug, viewer.token)).toBe(404);
    });
  });

  describe('the share link', () => {
    it('deleting it stops the link at once; people it was shared with still see the page', async () => {
      const { slug, url } = await published();
      expect((await fetch(`${server.url}${url}`)).status).toBe(200);
      expect((await server.api('DELETE', `dashboards/${slug}/link`, { token: owner.token })).status).toBe(204);
      expect((await fetch(`${server.url}${url}`)).status).toBe(404);
      expect(await status(slug, viewer.token)).toBe(200);
      expect((await server.api('GET', `dashboards/${slug}`, { token: owner.token })).body.hasLink).toBe(false);
    });

    it('replacing it stops the old link at once and the new one works', async () => {
      const { slug, key, url } = await published();
      expect((await fetch(`${server.url}${url}`)).status).toBe(200);
      const replaced = await server.api('POST', `dashboards/${slug}/link`, { token: owner.token });
      expect(replaced.status).toBe(201);
      expect(replaced.body.key).not.toBe(key);
      expect((await fetch(`${server.url}${url}`)).status).toBe(404);
      expect((await fetch(`${server.url}/tandem/d/${slug}/state?key=${key}`)).status).toBe(404);
      expect((await fetch(`${server.url}${replaced.body.url}`)).status).toBe(200);
      expect((await server.api('GET', `dashboards/${slug}`, { token: owner.token })).body.hasLink).toBe(true);
    });

    it('a new link after a deleted one works, the deleted one stays dead', async () => {
      const { slug, url } = await published();
      await server.api('DELETE', `dashboards/${slug}/link`, { token: owner.token });
      const fresh = await server.api('POST', `dashboards/${slug}/link`, { token: owner.token });
      expect((await fetch(`${server.url}${fresh.body.url}`)).status).toBe(200);
      expect((await fetch(`${server.url}${url}`)).status).toBe(404);
    });

    it('only the owner deletes or replaces it; the link keeps working after their refusals', async () => {
      const { slug, url } = await published();
      for (const token of [editor.token, viewer.token]) {
        expect((await server.api('DELETE', `dashboards/${slug}/link`, { token })).status).toBe(403);
        expect((await server.api('POST', `dashboards/${slug}/link`, { token })).status).toBe(403);
      }
      expect((await server.api('DELETE', `dashboards/${slug}/link`, { token: outsider.token })).status).toBe(404);
      expect((await fetch(`${server.url}${url}`)).status).toBe(200);
    });

    it('deleting and replacing it are audited', async () => {
      const { slug, id } = await published();
      await server.api('POST', `dashboards/${slug}/link`, { token: owner.token });
      await server.api('DELETE', `dashboards/${slug}/link`, { token: owner.token });
      const audits = await server.ctx.db.query<{ action: string; actor_id: string }>(
        `SELECT action, actor_id FROM audit_log WHERE resource_type = 'dashboard' AND resource_id = $1 AND action LIKE 'dashboard.link.%' ORDER BY id`,
        [id],
      );
      expect(audits).toEqual([
        { action: 'dashboard.link.create', actor_id: owner.id },
        { action: 'dashboard.link.create', actor_id: owner.id },
        { action: 'dashboard.link.delete', actor_id: owner.id },
      ]);
    });
  });
});
