import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { connect, createNotebook, share, synced, until, type Client } from './support.js';

const IPYNB = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript (Tandem)', language: 'typescript' } },
  cells: [
    { id: 'c1', cell_type: 'markdown', source: ['# Title\n', 'text'], metadata: {} },
    {
      id: 'c2',
      cell_type: 'code',
      source: 'const x = 1;\nx',
      metadata: { tags: ['t'] },
      execution_count: 3,
      outputs: [{ output_type: 'execute_result', execution_count: 3, data: { 'text/plain': '1' }, metadata: {} }],
    },
  ],
};

describe('notebooks API', () => {
  let server: TestServer;
  let alice: { token: string };
  let bob: { token: string };
  const clients: Client[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    [alice, bob] = await Promise.all([server.user('alice'), server.user('bob')]);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(() => server.stop());

  it('imports an .ipynb and exports the same cells, outputs and metadata', async () => {
    const id = await createNotebook(server, 'analysis.ipynb', IPYNB, alice.token);
    const res = await server.api('GET', `notebooks/${id}/ipynb`, { token: alice.token });
    expect(res.status).toBe(200);
    expect(res.body.metadata.kernelspec.name).toBe('tslab');
    expect(res.body.cells.map((c: { id: string; source: string }) => [c.id, c.source])).toEqual([
      ['c1', '# Title\ntext'],
      ['c2', 'const x = 1;\nx'],
    ]);
    expect(res.body.cells[1]).toMatchObject({ execution_count: 3, metadata: { tags: ['t'] }, outputs: [{ data: { 'text/plain': '1' } }] });
  });

  it('downloads as an attachment named after the notebook', async () => {
    const id = await createNotebook(server, 'report', undefined, alice.token);
    const res = await fetch(`${server.url}/tandem/api/notebooks/${id}/ipynb?attachment=1`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(res.headers.get('content-disposition')).toContain('report.ipynb');
  });

  it('rejects bad input with a message naming the field', async () => {
    const noName = await server.api('POST', 'notebooks', { token: alice.token, body: { name: '' } });
    expect(noName.status).toBe(400);
    expect(JSON.stringify(noName.body)).toContain('name');
    const badCell = await server.api('POST', 'notebooks', {
      token: alice.token,
      body: { name: 'x', content: { ...IPYNB, cells: [{ cell_type: 'banana', source: '' }] } },
    });
    expect(badCell.status).toBe(400);
    expect(JSON.stringify(badCell.body)).toContain('content.cells.0.cell_type');
    const v3 = await server.api('POST', 'notebooks', { token: alice.token, body: { name: 'x', content: { ...IPYNB, nbformat: 3 } } });
    expect(JSON.stringify(v3.body)).toContain('only nbformat 4');
  });

  it('lists only notebooks shared with the caller, with their role', async () => {
    const mine = await createNotebook(server, 'mine', undefined, alice.token);
    const sharedId = await createNotebook(server, 'shared', undefined, alice.token);
    await share(server, sharedId, 'bob', 'viewer');
    const list = await server.api('GET', 'notebooks', { token: bob.token });
    const ids = list.body.notebooks.map((n: { id: string }) => n.id);
    expect(ids).toContain(sharedId);
    expect(ids).not.toContain(mine);
    expect(list.body.notebooks.find((n: { id: string }) => n.id === sharedId).role).toBe('viewer');
    expect((await server.api('GET', `notebooks/${mine}`, { token: bob.token })).status).toBe(404);
  });

  it('lets editors rename, only owners delete, and keeps one owner', async () => {
    const id = await createNotebook(server, 'old name', undefined, alice.token);
    await share(server, id, 'bob', 'editor');
    const renamed = await server.api('PATCH', `notebooks/${id}`, { token: bob.token, body: { name: 'new name' } });
    expect(renamed.body).toMatchObject({ name: 'new name', role: 'editor' });
    const denied = await server.api('DELETE', `notebooks/${id}`, { token: bob.token });
    expect(denied.status).toBe(403);
    const lastOwner = await server.api('PUT', `notebooks/${id}/grants`, {
      token: alice.token,
      body: { type: 'user', name: 'alice', role: null },
    });
    expect(lastOwner.status).toBe(409);
    expect((await server.api('DELETE', `notebooks/${id}`, { token: alice.token })).status).toBe(204);
    expect((await server.api('GET', `notebooks/${id}`, { token: alice.token })).status).toBe(404);
  });

  it('restores a named version as a live edit that connected clients converge on', async () => {
    const id = await createNotebook(server, 'versions', IPYNB, alice.token);
    const a = await synced(connect(server.url, id, alice.token));
    clients.push(a);
    const saved = await server.api('POST', `notebooks/${id}/versions`, { token: alice.token, body: { name: 'before cleanup' } });
    expect(saved.status).toBe(201);

    a.cells.delete(0, 1);
    a.source(0).insert(0, '// edited\n');
    const exported = async () =>
      (await server.api('GET', `notebooks/${id}/ipynb`, { token: alice.token })).body.cells.map((c: { source: string }) => c.source);
    await expect.poll(exported, { timeout: 10_000 }).toEqual(['// edited\nconst x = 1;\nx']);

    const restored = await server.api('POST', `notebooks/${id}/versions/${saved.body.id}/restore`, { token: alice.token });
    expect(restored.status).toBe(204);
    await until(() => a.cells.length === 2, 10_000, 'client to see the restore');
    expect(a.source(1).toString()).toBe('const x = 1;\nx');
    const after = await server.api('GET', `notebooks/${id}/ipynb`, { token: alice.token });
    expect(after.body.cells.map((c: { source: string }) => c.source)).toEqual(['# Title\ntext', 'const x = 1;\nx']);
    const versions = await server.api('GET', `notebooks/${id}/versions`, { token: alice.token });
    expect(versions.body.versions.map((v: { name: string }) => v.name)).toEqual(['before cleanup']);
  });

  it('does not let viewers save or restore versions', async () => {
    const id = await createNotebook(server, 'ro', undefined, alice.token);
    await share(server, id, 'bob', 'viewer');
    const res = await server.api('POST', `notebooks/${id}/versions`, { token: bob.token, body: { name: 'mine' } });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('editor role required');
  });
});
