// The state behind the Dashboards panel (DashboardsApi, DashboardsListModel, DashboardModel)
// against a real Tandem server: what the panel lists, and what each change in a dashboard's view
// does. The widgets need a DOM and are driven in Chromium (test/browser/dashboards.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleNotebook } from '../../../../server/test/dashboards/support.js';
import { startTestServer, type TestServer } from '../../../../server/test/support/server.js';
import { DashboardsApi } from '../../../src/dashboards/api';
import { DashboardModel, DashboardsListModel } from '../../../src/dashboards/dashboards-model';
import { TandemClient } from '../../../src/requests';

describe('the Dashboards panel’s models against a real Tandem server', { timeout: 60_000 }, () => {
  let server: TestServer;
  let api: DashboardsApi;
  let strangerApi: DashboardsApi;
  let count = 0;

  beforeAll(async () => {
    // PGlite: the unit project has no PostgreSQL; the browser suite runs the panel on PostgreSQL.
    server = await startTestServer({ db: 'pglite' });
    api = new DashboardsApi(new TandemClient({ url: server.url, token: server.adminToken }));
    strangerApi = new DashboardsApi(new TandemClient({ url: server.url, token: (await server.user('stranger')).token }));
  }, 120_000);
  afterAll(() => server?.stop());

  const publish = async () => {
    const slug = `board-${++count}`;
    await api.create({ slug, title: `Board ${count}`, notebook: sampleNotebook(slug), notebookPath: 'report.ipynb' });
    return slug;
  };
  const emissions = (model: { stateChanged: { connect(fn: () => void): unknown } }) => {
    const seen = { count: 0 };
    model.stateChanged.connect(() => void (seen.count += 1));
    return seen;
  };

  it('the list holds the dashboards the caller can see, and emits only when they changed', async () => {
    const slug = await publish();
    const list = new DashboardsListModel(api);
    const seen = emissions(list);
    await list.refresh();
    await list.refresh();
    expect(list.value.map((d) => d.slug)).toContain(slug);
    expect(seen.count).toBe(1);
    const theirs = new DashboardsListModel(strangerApi);
    await theirs.refresh();
    expect(theirs.value).toEqual([]);
  });

  it('a dashboard’s model loads it with its versions, newest first', async () => {
    const slug = await publish();
    await api.republish(slug, { title: 'Second', notebook: sampleNotebook('v2') });
    const model = new DashboardModel(api, slug);
    await model.refresh();
    expect(model.value.dashboard).toMatchObject({ slug, currentVersion: 2, role: 'owner' });
    expect(model.value.versions.map((v) => v.number)).toEqual([2, 1]);
    expect(model.isOwner && model.canEdit).toBe(true);
  });

  it('replacing the link shows the new one until it is revoked; the old one stops working', async () => {
    const slug = await publish();
    const model = new DashboardModel(api, slug);
    await model.refresh();
    expect(await model.replaceLink()).toBe(true);
    const first = model.value.newLink!.url;
    expect((await fetch(`${server.url}${first}`)).status).toBe(200);
    await model.replaceLink();
    const second = model.value.newLink!.url;
    expect(second).not.toBe(first);
    expect((await fetch(`${server.url}${first}`)).status).toBe(404);
    expect((await fetch(`${server.url}${second}`)).status).toBe(200);
    await model.revokeLink();
    expect(model.value).toMatchObject({ dashboard: { hasLink: false }, newLink: undefined });
    expect((await fetch(`${server.url}${second}`)).status).toBe(404);
  });

  it('a first schedule sends the saved notebook; a change of it does not ask again', async () => {
    const slug = await publish();
    const model = new DashboardModel(api, slug);
    await model.refresh();
    const asked: string[] = [];
    const notebook = async () => (asked.push('notebook'), sampleNotebook('saved'));
    expect(await model.setSchedule('0 6 * * 1-5', 'Europe/Berlin', notebook)).toBe(true);
    expect(model.value.dashboard!.schedule).toMatchObject({ cron: '0 6 * * 1-5', timezone: 'Europe/Berlin' });
    expect(await model.setSchedule('0 7 * * 1-5', 'Europe/Berlin', notebook)).toBe(true);
    expect(asked).toEqual(['notebook']);
    expect(await model.stopSchedule()).toBe(true);
    expect(model.value.dashboard!.schedule).toBeNull();
  });

  it('a refused change keeps what was shown and says why', async () => {
    const slug = await publish();
    const model = new DashboardModel(api, slug);
    await model.refresh();
    expect(await model.setSchedule('61 * * * *', 'UTC', async () => sampleNotebook())).toBe(false);
    expect(model.error).toMatch(/cron: minute "61"/);
    expect(model.value.dashboard!.schedule).toBeNull();
    const asStranger = new DashboardModel(strangerApi, slug);
    expect(await asStranger.delete()).toBe(false);
    expect(asStranger.error).toMatch(/not found/);
  });

  it('make current brings an older version back; delete leaves the model deleted and the dashboard gone', async () => {
    const slug = await publish();
    await api.republish(slug, { title: 'Second', notebook: sampleNotebook('v2') });
    const model = new DashboardModel(api, slug);
    await model.refresh();
    await model.revert(1);
    expect(model.value.dashboard!.currentVersion).toBe(1);
    expect(await model.delete()).toBe(true);
    expect(model.value).toEqual({ versions: [], deleted: true });
    await expect(api.get(slug)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
