import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { closed, codeCell, connect, createNotebook, rawSocket, share, synced, until, type Client } from './support.js';

describe('collaboration rooms', () => {
  let server: TestServer;
  let alice: { token: string };
  let bob: { token: string };
  let vic: { token: string };
  const clients: Client[] = [];
  const join = async (id: string, token: string) => {
    const client = connect(server.url, id, token);
    clients.push(client);
    return synced(client);
  };

  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_MAX_BODY_BYTES: String(256 * 1024) } });
    [alice, bob, vic] = await Promise.all([server.user('alice'), server.user('bob'), server.user('vic')]);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(() => server.stop());

  async function sharedNotebook(): Promise<string> {
    const id = await createNotebook(server, 'pair.ipynb', undefined, alice.token);
    await share(server, id, 'bob', 'editor');
    await share(server, id, 'vic', 'viewer');
    return id;
  }

  it('gives a new client the seeded notebook without the client seeding anything', async () => {
    const id = await sharedNotebook();
    const a = await join(id, alice.token);
    expect(a.cells.length).toBe(1);
    expect(a.cells.get(0).get('cell_type')).toBe('code');
    expect(a.doc.store.clients.has(a.doc.clientID)).toBe(false);
  });

  it('converges two clients typing into the same cell at once, with no lost or duplicated text', async () => {
    const id = await sharedNotebook();
    const [a, b] = await Promise.all([join(id, alice.token), join(id, bob.token)]);
    for (let i = 0; i < 50; i++) {
      a.source().insert(a.source().length, 'a');
      b.source().insert(0, 'b');
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => a.source().toString() === b.source().toString() && a.source().length === 100, 10_000, 'convergence');
    const text = a.source().toString();
    expect(text.replace(/b/g, '')).toBe('a'.repeat(50));
    expect(text.replace(/a/g, '')).toBe('b'.repeat(50));
    expect(a.cells.length).toBe(1);
  });

  it('converges concurrent cell insertions from two clients without duplicating cells', async () => {
    const id = await sharedNotebook();
    const [a, b] = await Promise.all([join(id, alice.token), join(id, bob.token)]);
    a.cells.push([codeCell('from a')]);
    b.cells.insert(0, [codeCell('from b')]);
    await until(() => a.cells.length === 3 && b.cells.length === 3, 10_000, 'both cells');
    const sources = (c: Client) => c.cells.map((cell) => String(cell.get('source')));
    expect(sources(a)).toEqual(sources(b));
    expect(sources(a).sort()).toEqual(['', 'from a', 'from b']);
  });

  it('keeps offline edits and sends them when the client reconnects', async () => {
    const id = await sharedNotebook();
    const [a, b, observer] = await Promise.all([join(id, alice.token), join(id, bob.token), join(id, alice.token)]);
    b.provider.disconnect();
    b.source().insert(0, 'offline edit; ');
    a.source().insert(0, 'online edit; ');
    // a's later edit reached the others; b's offline one did not, while b was offline.
    await until(() => observer.source().toString().includes('online edit'), 10_000, 'the online edit');
    expect(observer.source().toString()).toBe('online edit; ');
    expect(a.source().toString()).toBe('online edit; ');
    b.provider.connect();
    await until(
      () => a.source().toString() === b.source().toString() && a.source().toString().includes('offline'),
      10_000,
      'reconnect merge',
    );
    expect(a.source().toString().length).toBe('offline edit; online edit; '.length);
  });

  it('drops a viewer’s edits on the server while the viewer still receives edits and presence', async () => {
    const id = await sharedNotebook();
    const [a, v] = await Promise.all([join(id, alice.token), join(id, vic.token)]);
    v.source().insert(0, 'viewer was here');
    v.provider.awareness.setLocalStateField('user', { name: 'vic' });
    a.source().insert(0, 'owner text');
    await until(() => v.source().toString().includes('owner text'), 10_000, 'viewer to receive edits');
    await until(() => [...a.provider.awareness.getStates().values()].some((s) => s.user?.name === 'vic'), 10_000, 'viewer presence');
    const fresh = await join(id, bob.token);
    expect(fresh.source().toString()).toBe('owner text');
    expect(a.source().toString()).toBe('owner text');
  });

  it('makes a demoted editor read-only at once and disconnects a user whose access is removed', async () => {
    const id = await sharedNotebook();
    const [a, b] = await Promise.all([join(id, alice.token), join(id, bob.token)]);
    await share(server, id, 'bob', 'viewer');
    b.source().insert(0, 'demoted');
    // Sent on the same socket after the edit: once a sees it, the server has handled (and dropped) the edit.
    b.provider.awareness.setLocalStateField('user', { name: 'bob', typed: 'demoted' });
    a.source().insert(0, 'owner');
    await until(() => b.source().toString().includes('owner'), 10_000, 'bob to keep receiving');
    await until(() => [...a.provider.awareness.getStates().values()].some((s) => s.user?.typed === 'demoted'), 10_000, 'bob’s presence');
    expect((await join(id, alice.token)).source().toString()).toBe('owner');
    expect(a.source().toString()).toBe('owner');

    const gone = new Promise<number>((resolve) => b.provider.on('connection-close', (event) => resolve(event?.code ?? 0)));
    const removed = await server.api('PUT', `notebooks/${id}/grants`, { body: { type: 'user', name: 'bob', role: null } });
    expect(removed.status).toBe(200);
    expect(await gone).toBe(4403);
  });

  it('tells a viewer on joining, and an editor the moment they are demoted, that their edits are not saved', async () => {
    const id = await sharedNotebook();
    const noticesTo = async (token: string) => {
      const notices: string[] = [];
      const ws = await rawSocket(server.url, id, token, (socket) =>
        socket.on('message', (data: Buffer) => {
          const decoder = decoding.createDecoder(new Uint8Array(data));
          if (decoding.readVarUint(decoder) === 2 && decoding.readVarUint(decoder) === 0) notices.push(decoding.readVarString(decoder));
        }),
      );
      return { ws, notices };
    };
    const viewer = await noticesTo(vic.token);
    const editor = await noticesTo(bob.token);
    const [toViewer, toEditor] = [viewer.notices, editor.notices];
    await until(() => toViewer.length === 1, 10_000, 'the viewer’s notice');
    expect(toViewer[0]).toMatch(/viewer .* edits are not saved/);
    expect(toEditor).toEqual([]);
    await share(server, id, 'bob', 'viewer');
    await until(() => toEditor.length === 1, 10_000, 'the demoted editor’s notice');
    viewer.ws.close();
    editor.ws.close();
  });

  it('shares cursors and names between editors and removes them when a client leaves', async () => {
    const id = await sharedNotebook();
    const [a, b] = await Promise.all([join(id, alice.token), join(id, bob.token)]);
    b.provider.awareness.setLocalStateField('user', { name: 'bob', cursor: { cell: 0, index: 3 } });
    await until(() => [...a.provider.awareness.getStates().values()].some((s) => s.user?.cursor?.index === 3), 10_000, 'bob’s cursor');
    b.provider.disconnect();
    await until(() => ![...a.provider.awareness.getStates().values()].some((s) => s.user?.name === 'bob'), 10_000, 'bob to leave');
  });

  it('closes a socket that sends a malformed message and leaves the room working', async () => {
    const id = await sharedNotebook();
    const [a, b] = await Promise.all([join(id, alice.token), join(id, bob.token)]);
    const bad = await rawSocket(server.url, id, bob.token);
    const gone = closed(bad);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0);
    encoding.writeVarUint(encoder, syncProtocol.messageYjsUpdate);
    encoding.writeVarUint8Array(encoder, new Uint8Array([200, 13, 7, 255, 255, 1, 2, 3]));
    bad.send(encoding.toUint8Array(encoder));
    expect((await gone).code).toBe(4400);

    const unknownType = await rawSocket(server.url, id, bob.token);
    const gone2 = closed(unknownType);
    unknownType.send(new Uint8Array([77, 1, 2]));
    expect(await gone2).toMatchObject({ code: 4400, reason: expect.stringContaining('unknown message type 77') });

    a.source().insert(0, 'still fine');
    await until(() => b.source().toString() === 'still fine', 10_000, 'room to keep working');
    const metrics = (await server.api('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/tandem_collab_messages_rejected_total\{reason="malformed"\} [2-9]/);
    expect(metrics).toMatch(/tandem_collab_connections [1-9]/);
  });

  it('closes a socket that sends a message over the size limit and leaves the room working', async () => {
    const id = await sharedNotebook();
    const [a, b] = await Promise.all([join(id, alice.token), join(id, bob.token)]);
    const big = await rawSocket(server.url, id, bob.token);
    const gone = closed(big);
    big.send(new Uint8Array(300 * 1024));
    expect((await gone).code).toBe(1009);
    a.source().insert(0, 'after the big one');
    await until(() => b.source().toString() === 'after the big one', 10_000, 'room to keep working');
  });

  it('refuses sockets without a valid token or without access, naming the reason', async () => {
    const id = await sharedNotebook();
    const outsider = await server.user('mallory');
    const attempt = (query: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}/tandem/collab/${id}${query}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
    expect(await attempt('')).toBe(401);
    expect(await attempt('?token=nope')).toBe(401);
    expect(await attempt(`?token=${outsider.token}`)).toBe(404);
  });

  it('disconnects everyone with a terminal code when the notebook is deleted', async () => {
    const id = await sharedNotebook();
    const b = await join(id, bob.token);
    const gone = new Promise<number>((resolve) => b.provider.on('connection-close', (event) => resolve(event?.code ?? 0)));
    expect((await server.api('DELETE', `notebooks/${id}`, { token: alice.token })).status).toBe(204);
    expect(await gone).toBe(4404);
  });

  it('keeps the stored log bounded by folding it into snapshots', async () => {
    const id = await sharedNotebook();
    const a = await join(id, alice.token);
    for (let i = 0; i < 600; i++) {
      a.source().insert(a.source().length, 'x');
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    const b = await join(id, bob.token);
    await until(() => b.source().length === 600, 10_000, 'all edits');
    const [row] = await server.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM notebook_updates WHERE notebook_id = $1', [id]);
    expect(row.n).toBeLessThanOrEqual(200);
    const snapshot = Y.encodeStateAsUpdate(b.doc).byteLength;
    const [size] = await server.ctx.db.query<{ bytes: number }>(
      'SELECT octet_length(state)::int AS bytes FROM notebook_snapshots WHERE notebook_id = $1',
      [id],
    );
    expect(size.bytes).toBeLessThan(snapshot * 2);
  });
});
