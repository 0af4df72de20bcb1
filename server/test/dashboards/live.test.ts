import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollabStore } from '../../src/collab/collab.store.js';
import { restoreUpdate, stateFromIpynb, type Ipynb } from '../../src/collab/ipynb.js';
import { startTestServer, type TestServer } from '../support/server.js';

const notebook = (revenue: number): Ipynb => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {},
  cells: [
    { cell_type: 'markdown', source: '# Live revenue', metadata: {} },
    {
      cell_type: 'code',
      source: 'const secretQuery = 1',
      metadata: {},
      execution_count: 1,
      outputs: [{ output_type: 'stream', name: 'stdout', text: `revenue ${revenue}\n` }],
    },
  ],
});

describe('live dashboards follow a shared notebook', () => {
  let server: TestServer;
  let notebookId: string;
  let viewer: string;
  const page = async (token: string) =>
    (await fetch(`${server.url}/tandem/d/live-sales`, { headers: { authorization: `Bearer ${token}` } })).text();
  const state = async (token: string) =>
    (
      (await (await fetch(`${server.url}/tandem/d/live-sales/state`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        version: string;
      }
    ).version;

  /** An edit as collaborators make them: logged in the notebook's Yjs update log. */
  async function edit(content: Ipynb) {
    const store = new CollabStore(server.ctx.db);
    const stored = (await store.load(notebookId))!;
    await store.append(notebookId, restoreUpdate(Y.mergeUpdates([stored.snapshot, ...stored.updates]), stateFromIpynb(content)));
  }

  beforeAll(async () => {
    server = await startTestServer();
    viewer = (await server.user('manager')).token;
    notebookId = (await server.api('POST', 'notebooks', { body: { name: 'revenue.ipynb', content: notebook(100) } })).body.id;
    await server.api('POST', 'dashboards', { body: { slug: 'live-sales', title: 'Live sales', notebook: { cells: [] } } });
    await server.api('PUT', 'dashboards/live-sales/grants', { body: { type: 'user', name: 'manager', role: 'viewer' } });
  });
  afterAll(() => server.stop());

  it('shows the notebook’s current outputs and changes its state token when collaborators re-run cells', async () => {
    const res = await server.api('PUT', 'dashboards/live-sales/live', { body: { notebookId } });
    expect(res.body.liveNotebookId).toBe(notebookId);
    const html = await page(viewer);
    expect(html).toContain('revenue 100');
    expect(html).toContain('● live');
    expect(html).not.toContain('secretQuery');
    const before = await state(viewer);

    await edit(notebook(250));
    // One read of the notebook serves polls for up to a second: the token changes after that, then stays.
    await expect.poll(() => state(viewer), { timeout: 15_000, interval: 200 }).not.toBe(before);
    expect(await page(viewer)).toContain('revenue 250');
    expect(await page(viewer)).not.toContain('revenue 100');
  });

  it('viewers of the dashboard still cannot open the notebook itself', async () => {
    expect((await server.api('GET', `notebooks/${notebookId}`, { token: viewer })).status).toBe(404);
  });

  it('only someone who can read the notebook may follow it', async () => {
    const editor = await server.user('editor2');
    await server.api('PUT', 'dashboards/live-sales/grants', { body: { type: 'user', name: 'editor2', role: 'editor' } });
    const res = await server.api('PUT', 'dashboards/live-sales/live', { token: editor.token, body: { notebookId } });
    expect(res.status).toBe(404);
    const missing = await server.api('PUT', 'dashboards/live-sales/live', { body: { notebookId: 'no-such-notebook' } });
    expect(missing.status).toBe(404);
  });

  it('stopping live mode shows the published version again', async () => {
    expect((await server.api('PUT', 'dashboards/live-sales/live', { body: { notebookId } })).status).toBe(200);
    expect(await page(viewer)).toContain('● live');
    await server.api('PUT', 'dashboards/live-sales/live', { body: { notebookId: null } });
    const html = await page(viewer);
    expect(html).not.toContain('● live');
    expect(html).not.toContain('revenue');
    expect(html).toContain('Live sales');
  });

  it('stops showing the notebook as soon as whoever made the page live can no longer read it', async () => {
    const alice = await server.user('alice');
    const lena = await server.user('lena');
    const id = (await server.api('POST', 'notebooks', { token: alice.token, body: { name: 'alices.ipynb', content: notebook(777) } })).body
      .id;
    await server.api('POST', 'dashboards', {
      token: alice.token,
      body: { slug: 'alices-live', title: 'Alice live', notebook: { cells: [] } },
    });
    await server.api('PUT', 'dashboards/alices-live/grants', {
      token: alice.token,
      body: { type: 'user', name: 'manager', role: 'viewer' },
    });
    await server.api('PUT', 'dashboards/alices-live/grants', { token: alice.token, body: { type: 'user', name: 'lena', role: 'editor' } });
    await server.api('PUT', `notebooks/${id}/grants`, { token: alice.token, body: { type: 'user', name: 'lena', role: 'viewer' } });
    // Lena may read the notebook, so she may make the page follow it.
    expect((await server.api('PUT', 'dashboards/alices-live/live', { token: lena.token, body: { notebookId: id } })).status).toBe(200);
    const shown = () => fetch(`${server.url}/tandem/d/alices-live`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(await (await shown()).text()).toContain('revenue 777');

    await server.api('PUT', `notebooks/${id}/grants`, { token: alice.token, body: { type: 'user', name: 'lena', role: null } });
    const after = await shown();
    expect(after.status).toBe(403);
    const text = await after.text();
    expect(text).not.toContain('revenue 777');
    expect(text).toMatch(/can no longer read/);
  });
});
