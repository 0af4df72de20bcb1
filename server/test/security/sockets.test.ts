// Hostile frames on collaboration sockets, from editors and viewers: none may crash the server or
// a room, and nobody may speak for another user's presence.
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import type WebSocket from 'ws';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeReason } from '../../src/collab/rooms.js';
import { closed, codeCell, connect, createNotebook, rawSocket, share, synced, until, type Client } from '../collab/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

const frame = (type: number, write: (e: encoding.Encoder) => void) => {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  write(e);
  return encoding.toUint8Array(e);
};

/** An awareness frame speaking for `clientId` with a raw (possibly invalid JSON) state. */
const awarenessFrame = (clientId: number, state: string, clock = 1) =>
  frame(1, (e) => {
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, 1);
    encoding.writeVarUint(inner, clientId);
    encoding.writeVarUint(inner, clock);
    encoding.writeVarString(inner, state);
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
  });

/** A deterministic pseudo-random generator, so that a failing frame can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('hostile collaboration frames', () => {
  let server: TestServer;
  let alice: { id: string; token: string };
  let vic: { id: string; token: string };
  const clients: Client[] = [];
  const join = async (id: string, token: string) => {
    const client = connect(server.url, id, token);
    clients.push(client);
    return synced(client);
  };
  async function notebook(): Promise<string> {
    const id = await createNotebook(server, 'target.ipynb', undefined, alice.token);
    await share(server, id, 'vic', 'viewer');
    return id;
  }
  /** The server still serves: another room takes an edit and a fresh client reads it back. */
  async function stillServing(): Promise<void> {
    const id = await notebook();
    const a = await join(id, alice.token);
    a.cells.push([codeCell('after the storm')]);
    const b = await join(id, alice.token);
    await until(() => b.cells.length === 2 && b.source(1).toString() === 'after the storm', 10_000, 'the edit to reach a fresh client');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    [alice, vic] = await Promise.all([server.user('alice'), server.user('vic')]);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(() => server?.stop());

  it('closes only the sender when a frame’s error quotes multi-byte text, with a reason WebSocket allows', async () => {
    const id = await notebook();
    const ws = await rawSocket(server.url, id, vic.token);
    const done = closed(ws);
    // JSON.parse quotes the broken state around the bad token: 87 characters here, 125 bytes.
    ws.send(awarenessFrame(4242, `["${'€'.repeat(50)}",${'€'.repeat(50)}]`));
    const { code, reason } = await done;
    expect(code).toBe(4400);
    expect(reason).toMatch(/^malformed message: /);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    await stillServing();
  });

  it('cuts close reasons on a character boundary', () => {
    expect(closeReason('a'.repeat(200))).toHaveLength(123);
    const cut = closeReason('€'.repeat(100));
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123);
    expect(cut).toBe('€'.repeat(41));
  });

  it('survives thousands of random and truncated frames from editors and viewers', async () => {
    const id = await notebook();
    const editor = await join(id, alice.token);
    editor.source().insert(0, 'kept');
    const next = random(7);
    const doc = new Y.Doc();
    doc.getArray('cells').push([new Y.Map()]);
    const valid = [
      frame(0, (e) => syncProtocol.writeSyncStep1(e, doc)),
      frame(0, (e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(doc))),
      frame(1, (e) =>
        encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(new awarenessProtocol.Awareness(doc), [doc.clientID])),
      ),
      awarenessFrame(99, '{"user":{"name":"ß✓"}}'),
    ];
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const kind = i % 3;
      if (kind === 0) frames.push(Uint8Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256)));
      else if (kind === 1) {
        const whole = valid[Math.floor(next() * valid.length)]!;
        frames.push(whole.subarray(0, Math.floor(next() * whole.length)));
      } else frames.push(awarenessFrame(1000 + i, `{"x":"${'é'.repeat(Math.floor(next() * 200))}`));
    }
    let sent = 0;
    let socket: WebSocket | undefined;
    const tokens = [alice.token, vic.token];
    while (sent < frames.length) {
      if (!socket || socket.readyState !== socket.OPEN) {
        socket?.terminate();
        socket = await rawSocket(server.url, id, tokens[sent % 2]!);
      }
      socket.send(frames[sent++]!);
      if (sent % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    socket?.terminate();
    await stillServing();
    // The room under attack kept its document: the editor's text is still there for a new reader.
    const reader = await join(id, alice.token);
    expect(reader.source().toString()).toContain('kept');
  }, 180_000);

  it('refuses presence under another user’s client id and keeps that user’s cursor', async () => {
    const id = await notebook();
    const a = await join(id, alice.token);
    a.provider.awareness.setLocalStateField('user', { name: 'alice', cursor: 1 });
    // Vic's own stock client echoes alice's presence back: that is not forging it.
    const watcher = await join(id, vic.token);
    await until(() => watcher.provider.awareness.getStates().get(a.doc.clientID)?.user?.cursor === 1, 10_000, 'alice’s cursor');

    const ws = await rawSocket(server.url, id, vic.token);
    const done = closed(ws);
    ws.send(awarenessFrame(a.doc.clientID, JSON.stringify({ user: { name: 'alice', cursor: 666 } }), 1_000));
    expect(await done).toMatchObject({ code: 4403, reason: expect.stringContaining('belongs to another user') });

    // Alice's next move arrives, and the forged one never did; vic's echoing client stayed connected.
    a.provider.awareness.setLocalStateField('user', { name: 'alice', cursor: 2 });
    await until(() => watcher.provider.awareness.getStates().get(a.doc.clientID)?.user?.cursor === 2, 10_000, 'alice’s next cursor');
    expect(watcher.provider.wsconnected).toBe(true);
    expect(a.provider.wsconnected).toBe(true);
  });

  it('lets a user’s new socket take over their own client id (a reconnect before the old socket timed out)', async () => {
    const id = await notebook();
    const first = await rawSocket(server.url, id, alice.token);
    first.send(awarenessFrame(777, JSON.stringify({ user: { name: 'alice', cursor: 1 } })));
    const second = await rawSocket(server.url, id, alice.token);
    const watcher = await join(id, vic.token);
    second.send(awarenessFrame(777, JSON.stringify({ user: { name: 'alice', cursor: 5 } }), 2));
    await until(() => watcher.provider.awareness.getStates().get(777)?.user?.cursor === 5, 10_000, 'the reconnected cursor');
    // Closing the old socket no longer removes the presence the new one holds.
    const gone = closed(first);
    first.close();
    await gone;
    second.send(awarenessFrame(777, JSON.stringify({ user: { name: 'alice', cursor: 6 } }), 3));
    await until(() => watcher.provider.awareness.getStates().get(777)?.user?.cursor === 6, 10_000, 'a later cursor');
    second.close();
  });
});
