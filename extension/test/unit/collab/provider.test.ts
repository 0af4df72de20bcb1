// The collaboration client (y-websocket's WebsocketProvider, wrapped by CollabProvider) against a
// real Tandem server (its rooms, permissions and close codes), with a TCP relay in between that can
// cut the connection and reads the frames the client sends.
import { YNotebook, type YCodeCell } from '@jupyter/ydoc';
import * as decoding from 'lib0/decoding';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startTestServer, type TestServer } from '../../../../server/test/support/server.js';
import { CollabProvider, type ConnectionStatus } from '../../../src/collab/provider';

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a y-websocket frame from the client carries. */
function kindOf(payload: Buffer): string {
  const decoder = decoding.createDecoder(new Uint8Array(payload));
  const type = decoding.readVarUint(decoder);
  if (type === 0) return ['sync-step1', 'sync-step2', 'sync-update'][decoding.readVarUint(decoder)] ?? 'sync-?';
  return ['sync', 'awareness', 'auth', 'query-awareness'][type] ?? `type-${type}`;
}

/**
 * Forwards TCP connections to `target`; `drop()` cuts them as a network loss would, `refuse`
 * turns new ones away. Decodes the WebSocket frames clients send (masked, unfragmented, and
 * uncompressed: the server does not offer permessage-deflate) into `sent`.
 */
class Relay {
  connections = 0;
  refuse = false;
  readonly sent: string[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((client) => this.accept(client));

  constructor(private readonly target: number) {}

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  drop(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: net.Socket): void {
    this.connections += 1;
    if (this.refuse) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    let buffered: Buffer = Buffer.alloc(0);
    let upgraded = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = true;
        buffered = buffered.subarray(end + 4);
      }
      buffered = this.readFrames(buffered);
    });
  }

  private readFrames(buf: Buffer): Buffer {
    for (;;) {
      if (buf.length < 2) return buf;
      const opcode = buf[0]! & 0x0f;
      let length = buf[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buf.length < 4) return buf;
        length = buf.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buf.length < 10) return buf;
        length = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      const masked = (buf[1]! & 0x80) !== 0;
      const mask = masked ? buf.subarray(at, at + 4) : undefined;
      if (masked) at += 4;
      if (buf.length < at + length) return buf;
      const payload = Buffer.from(buf.subarray(at, at + length));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      if (opcode === 2) this.sent.push(kindOf(payload));
      else if (opcode === 8) this.sent.push('close');
      buf = buf.subarray(at + length);
    }
  }
}

/** `ws` as a browser WebSocket: an `error` event nobody listens to is not an uncaught exception. */
class BrowserWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('error', () => undefined);
  }
}

/** The browser globals the provider uses, from Node and the `ws` package. */
function browserGlobals(): void {
  vi.stubGlobal('WebSocket', BrowserWebSocket);
  vi.stubGlobal('window', {
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    setTimeout: (fn: () => void, ms?: number) => setTimeout(fn, ms),
    clearTimeout: (t?: ReturnType<typeof setTimeout>) => clearTimeout(t),
  });
}

/** The shared model the Tandem drive binds (src/collab/drive.ts): never dirty, the room has every edit. */
class SharedNotebookModel extends YNotebook {
  override get dirty(): boolean {
    return false;
  }

  override set dirty(_value: boolean) {
    // nothing to save
  }
}

interface Tab {
  notebook: YNotebook;
  provider: CollabProvider;
  statuses: { status: ConnectionStatus; reason?: string }[];
  source(i?: number): string;
}

// The machine is shared: generous time limits, and no assertion on how fast anything is.
describe('the collaboration client (CollabProvider) against a real Tandem server', { timeout: 60_000 }, () => {
  let server: TestServer;
  let relay: Relay;
  let relayUrl: string;
  let alice: { token: string };
  let bob: { token: string };
  const tabs: Tab[] = [];

  /** A notebook tab bound to the room, as the Tandem drive binds one; through the relay unless `direct`. */
  const open = (id: string, token: string, direct = false): Tab => {
    const base = direct ? server.url.replace(/^http/, 'ws') : relayUrl;
    const notebook = new SharedNotebookModel();
    const provider = new CollabProvider(`${base}/tandem/collab/${id}?token=${token}`, notebook);
    // The constructor has already announced 'connecting'.
    const statuses: Tab['statuses'] = [{ status: 'connecting' }];
    provider.statusChanged.connect((_, change) => void statuses.push(change));
    const tab = { notebook, provider, statuses, source: (i = 0) => notebook.cells[i]!.getSource() };
    tabs.push(tab);
    return tab;
  };

  const createNotebook = async (name: string): Promise<string> => {
    const res = await server.api('POST', 'notebooks', { token: alice.token, body: { name } });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  const share = async (id: string, name: string, role: 'editor' | 'viewer' | null) => {
    expect((await server.api('PUT', `notebooks/${id}/grants`, { token: alice.token, body: { type: 'user', name, role } })).status).toBe(
      200,
    );
  };

  beforeAll(async () => {
    // PGlite: the unit project has no PostgreSQL; the browser suite covers the server on PostgreSQL.
    // Opened before `window` exists, which would make PGlite think it runs in a browser.
    server = await startTestServer({ db: 'pglite' });
    browserGlobals();
    [alice, bob] = await Promise.all([server.user('alice'), server.user('bob')]);
    relay = new Relay(Number(new URL(server.url).port));
    relayUrl = await relay.listen();
  }, 120_000);
  afterEach(() => {
    for (const tab of tabs.splice(0)) {
      tab.provider.dispose();
      tab.notebook.dispose();
    }
    relay.refuse = false;
  });
  afterAll(async () => {
    await relay?.close();
    await server?.stop();
    vi.unstubAllGlobals();
  });

  it("shows the room's notebook after the first sync and writes nothing of its own", async () => {
    const id = await createNotebook('first-sync.ipynb');
    const tab = open(id, alice.token);
    await tab.provider.ready;
    expect(tab.notebook.cells).toHaveLength(1);
    expect(tab.notebook.cells[0]!.cell_type).toBe('code');
    expect(tab.statuses.map((s) => s.status)).toEqual(['connecting', 'connected']);
    expect(tab.notebook.ydoc.store.clients.has(tab.notebook.ydoc.clientID)).toBe(false);
    expect(relay.sent).not.toContain('sync-update');
  });

  it('reconnects after the connection drops and sends the edits made while offline', async () => {
    const id = await createNotebook('reconnect.ipynb');
    const [tab, other] = [open(id, alice.token), open(id, alice.token, true)];
    await Promise.all([tab.provider.ready, other.provider.ready]);
    const before = relay.connections;
    relay.drop();
    await until(() => tab.statuses.at(-1)?.status === 'disconnected', 'the drop to be noticed');
    tab.notebook.cells[0]!.setSource('typed while offline');
    other.notebook.cells[0]!.updateSource(0, 0, ''); // the other tab keeps the room busy meanwhile
    await until(() => tab.statuses.at(-1)?.status === 'connected', 'the reconnect');
    expect(relay.connections).toBe(before + 1);
    await until(() => other.source() === 'typed while offline', 'the offline edit to reach the other tab');
    // And the room's own copy has it too, as a fresh client sees it.
    const fresh = open(id, alice.token, true);
    await fresh.provider.ready;
    expect(fresh.source()).toBe('typed while offline');
  });

  it('keeps retrying with backoff while the server cannot be reached, then syncs what changed meanwhile', async () => {
    const id = await createNotebook('backoff.ipynb');
    const [tab, other] = [open(id, alice.token), open(id, alice.token, true)];
    await Promise.all([tab.provider.ready, other.provider.ready]);
    const before = relay.connections;
    relay.refuse = true;
    relay.drop();
    await until(() => relay.connections >= before + 3, 'three refused attempts');
    const gaps = tab.statuses.filter((s) => s.status === 'connecting').length;
    expect(gaps).toBeGreaterThanOrEqual(3);
    expect(tab.statuses.some((s) => s.status === 'closed')).toBe(false);
    other.notebook.cells[0]!.setSource('changed by the other tab');
    relay.refuse = false;
    await until(() => tab.statuses.at(-1)?.status === 'connected', 'the reconnect', 30_000);
    await until(() => tab.source() === 'changed by the other tab', 'the missed edit');
  });

  it('lets two tabs of one room meet only in the room, not through a BroadcastChannel shortcut', async () => {
    const id = await createNotebook('apart.ipynb');
    const [tab, twin] = [open(id, alice.token), open(id, alice.token)];
    await Promise.all([tab.provider.ready, twin.provider.ready]);
    relay.refuse = true;
    relay.drop();
    await until(() => [tab, twin].every((t) => t.statuses.at(-1)?.status !== 'connected'), 'both tabs to be offline');
    tab.notebook.cells[0]!.setSource('typed in one tab');
    await sleep(300);
    expect(twin.source()).toBe('');
    relay.refuse = false;
    await until(() => twin.source() === 'typed in one tab', 'the edit to arrive through the room', 30_000);
  });

  it('stops for good when the notebook is deleted (close code 4404) and says why', async () => {
    const id = await createNotebook('deleted.ipynb');
    const tab = open(id, alice.token);
    await tab.provider.ready;
    expect((await server.api('DELETE', `notebooks/${id}`, { token: alice.token })).status).toBe(204);
    await until(() => tab.statuses.at(-1)?.status === 'closed', 'the final close');
    expect(tab.statuses.at(-1)).toEqual({ status: 'closed', reason: 'notebook deleted' });
    const connections = relay.connections;
    await sleep(1500); // the first retry would come after 200 ms
    expect(relay.connections).toBe(connections);
    expect(tab.statuses.at(-1)!.status).toBe('closed');
  });

  it('stops for good when the user loses access (close code 4403)', async () => {
    const id = await createNotebook('revoked.ipynb');
    await share(id, 'bob', 'editor');
    const tab = open(id, bob.token);
    await tab.provider.ready;
    await share(id, 'bob', null);
    await until(() => tab.statuses.at(-1)?.status === 'closed', 'the final close');
    expect(tab.statuses.at(-1)).toEqual({ status: 'closed', reason: 'your access to this notebook was removed' });
    const connections = relay.connections;
    await sleep(1500);
    expect(relay.connections).toBe(connections);
  });

  it('turns read-only for a viewer: edits are rolled back and never sent, while others’ edits still arrive', async () => {
    const id = await createNotebook('viewer.ipynb');
    await share(id, 'bob', 'viewer');
    const owner = open(id, alice.token, true);
    const viewer = open(id, bob.token);
    await Promise.all([owner.provider.ready, viewer.provider.ready]);
    await until(() => viewer.provider.readOnlyReason !== undefined, 'the viewer notice');
    expect(viewer.provider.readOnlyReason).toBe('you are a viewer of this notebook: edits are not saved');

    const sentBefore = relay.sent.length;
    viewer.notebook.cells[0]!.setSource('a viewer typing');
    expect(viewer.source()).toBe('');
    // Presence still goes out; once it has reached the owner, any edit sent before it would have too.
    viewer.notebook.awareness.setLocalStateField('user', { name: 'bob' });
    await until(() => [...owner.notebook.awareness.getStates().values()].some((s) => s.user?.name === 'bob'), "the viewer's presence");
    expect(relay.sent.slice(sentBefore)).toContain('awareness');
    expect(relay.sent.slice(sentBefore)).not.toContain('sync-update');
    expect(owner.source()).toBe('');

    // Edits from others keep arriving, and the rolled-back edit stays rolled back through them.
    owner.notebook.cells[0]!.setSource('written by the owner');
    await until(() => viewer.source() === 'written by the owner', "the owner's edit at the viewer");
    owner.notebook.cells[0]!.updateSource(0, 0, 'again: ');
    await until(() => viewer.source() === 'again: written by the owner', "the owner's second edit at the viewer");
    expect(viewer.source()).toBe(owner.source());
  });

  it('turns read-only at once when an editor is made a viewer while connected, outputs included', async () => {
    const id = await createNotebook('demoted.ipynb');
    await share(id, 'bob', 'editor');
    const owner = open(id, alice.token, true);
    const tab = open(id, bob.token);
    const reasons: string[] = [];
    tab.provider.readOnlyChanged.connect((_, reason) => void reasons.push(reason));
    await Promise.all([owner.provider.ready, tab.provider.ready]);
    tab.notebook.cells[0]!.setSource('saved while an editor');
    expect(tab.provider.readOnlyReason).toBeUndefined();
    await until(() => owner.source() === 'saved while an editor', 'the editor’s edit at the owner');
    await share(id, 'bob', 'viewer');
    await until(() => reasons.length > 0, 'the viewer notice');
    expect(reasons).toEqual(['you are a viewer of this notebook: edits are not saved']);
    expect(tab.provider.readOnlyReason).toBe(reasons[0]);

    tab.notebook.cells[0]!.setSource('typed after the demotion');
    expect(tab.source()).toBe('saved while an editor');
    tab.notebook.cells[0]!.setMetadata('tags', ['mine']);
    expect(tab.notebook.cells[0]!.getMetadata('tags')).toBeUndefined();
    // Running a cell writes outputs and the execution count without an undo origin: undone too.
    const cell = tab.notebook.cells[0] as YCodeCell;
    cell.setOutputs([{ output_type: 'stream', name: 'stdout', text: 'viewer output\n' }]);
    cell.execution_count = 7;
    expect(cell.getOutputs()).toEqual([]);
    expect(cell.execution_count).toBeNull();

    // The room has none of it.
    const fresh = open(id, alice.token, true);
    await fresh.provider.ready;
    expect(fresh.source()).toBe('saved while an editor');
    expect((fresh.notebook.cells[0] as YCodeCell).getOutputs()).toEqual([]);
    expect(fresh.notebook.cells[0]!.getMetadata('tags')).toBeUndefined();
  });

  // Known bug, kept as a test that fails until it is fixed: the rollback undoes a deletion by
  // inserting copies of the deleted text, which exist in this tab only (the room never gets them).
  // Later edits of others apply to the originals, so the tab and the room disagree from then on.
  it.fails('a read-only tab whose rolled-back change deleted text shows the same text as the room afterwards', async () => {
    const id = await createNotebook('diverged.ipynb');
    await share(id, 'bob', 'viewer');
    const owner = open(id, alice.token, true);
    await owner.provider.ready;
    owner.notebook.cells[0]!.setSource('the original');
    const viewer = open(id, bob.token);
    await viewer.provider.ready;
    await until(() => viewer.source() === 'the original' && viewer.provider.readOnlyReason !== undefined, 'the viewer in sync');
    viewer.notebook.cells[0]!.setSource('typed by the viewer');
    expect(viewer.source()).toBe('the original');
    owner.notebook.cells[0]!.setSource('replaced by the owner');
    await until(() => viewer.source().includes('replaced by the owner'), "the owner's edit at the viewer");
    expect(viewer.source()).toBe('replaced by the owner');
  });
});

describe('the collaboration client and close codes, against a bare WebSocket server', { timeout: 60_000 }, () => {
  let wss: WebSocketServer;
  let url: string;
  let closeWith: { code: number; reason: string } = { code: 4400, reason: 'malformed' };
  let connections = 0;

  beforeAll(async () => {
    browserGlobals();
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      connections += 1;
      ws.close(closeWith.code, closeWith.reason);
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/tandem/collab/x`;
  });
  afterAll(async () => {
    await new Promise((resolve) => wss.close(resolve));
    vi.unstubAllGlobals();
  });

  it('rejects `ready` and stays closed when the server refuses the room before the first sync (4400–4499)', async () => {
    for (const code of [4400, 4403, 4499]) {
      closeWith = { code, reason: `refused ${code}` };
      connections = 0;
      const notebook = new YNotebook();
      const provider = new CollabProvider(url, notebook);
      await expect(provider.ready).rejects.toThrow(`refused ${code}`);
      await sleep(1000);
      expect(connections).toBe(1);
      provider.dispose();
      notebook.dispose();
    }
  });

  it('retries other close codes (1011 server error, 4500), and stops retrying once disposed', async () => {
    for (const code of [1011, 4500]) {
      closeWith = { code, reason: 'try again' };
      connections = 0;
      const notebook = new YNotebook();
      const provider = new CollabProvider(url, notebook);
      await until(() => connections >= 2, `a retry after ${code}`);
      provider.dispose();
      const after = connections;
      await sleep(1500);
      expect(connections).toBeLessThanOrEqual(after + 1); // at most an attempt already under way
      notebook.dispose();
    }
  });
});
