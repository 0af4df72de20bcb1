import net, { type AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { TestServer } from '../support/server.js';

/** A stock y-websocket client in Node, as a JupyterLab tab would be. */
export interface Client {
  doc: Y.Doc;
  provider: WebsocketProvider;
  cells: Y.Array<Y.Map<unknown>>;
  /** Source text of cell `i`. */
  source(i?: number): Y.Text;
  destroy(): void;
}

export function connect(baseUrl: string, notebookId: string, token: string): Client {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${baseUrl.replace(/^http/, 'ws')}/tandem/collab`, notebookId, doc, {
    params: { token },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    maxBackoffTime: 300,
  });
  const cells = doc.getArray<Y.Map<unknown>>('cells');
  return {
    doc,
    provider,
    cells,
    source: (i = 0) => cells.get(i).get('source') as Y.Text,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

export async function synced(client: Client, timeoutMs = 10_000): Promise<Client> {
  await until(() => client.provider.synced, timeoutMs, 'client never synced');
  return client;
}

export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Creates a notebook over REST and returns its id. */
export async function createNotebook(server: TestServer, name = 'shared.ipynb', content?: unknown, token?: string): Promise<string> {
  const res = await server.api('POST', 'notebooks', { token, body: { name, content } });
  if (res.status !== 201) throw new Error(`creating notebook failed: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

export async function share(server: TestServer, id: string, user: string, role: 'owner' | 'editor' | 'viewer'): Promise<void> {
  const res = await server.api('PUT', `notebooks/${id}/grants`, { body: { type: 'user', name: user, role } });
  if (res.status !== 200) throw new Error(`sharing failed: ${JSON.stringify(res.body)}`);
}

/** A code cell in the YNotebook layout, as JupyterLab inserts one. */
export function codeCell(source: string): Y.Map<unknown> {
  const cell = new Y.Map<unknown>();
  cell.set('id', crypto.randomUUID());
  cell.set('cell_type', 'code');
  cell.set('source', new Y.Text(source));
  cell.set('metadata', new Y.Map());
  cell.set('outputs', new Y.Array());
  cell.set('execution_count', null);
  return cell;
}

/** Opens a raw socket (no Yjs client) to send hand-made frames. */
/** A bare socket to a room; `listen` attaches before the handshake, since the first frames can arrive with it. */
export async function rawSocket(baseUrl: string, notebookId: string, token: string, listen?: (ws: WebSocket) => void): Promise<WebSocket> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/tandem/collab/${notebookId}?token=${token}`);
  listen?.(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

export interface Forwarder {
  /** http://127.0.0.1:<port the OS gave the forwarder>. */
  url: string;
  /** Where new connections go (a server's URL); undefined refuses them, as a stopped server would. */
  target(url: string | undefined): void;
  close(): Promise<void>;
}

/**
 * One address for clients across server restarts: a TCP forwarder on a port of the OS's choosing
 * that passes each connection to whichever server is current. A restarted server listens on a new
 * OS-assigned port, so no test waits to bind a port that something else may have taken meanwhile.
 */
export async function forwarder(): Promise<Forwarder> {
  let target: { host: string; port: number } | undefined;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((down) => {
    track(down);
    if (!target) return void down.destroy();
    const up = net.connect(target.port, target.host);
    track(up);
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    target(url) {
      target = url ? { host: new URL(url).hostname, port: Number(new URL(url).port) } : undefined;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
