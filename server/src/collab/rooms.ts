import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse as parseCookies } from 'cookie';
import { WebSocketServer, type WebSocket } from 'ws';
import { atLeast, type Permissions } from '../auth/permissions.js';
import type { AuthChange, AuthStore } from '../auth/auth.store.js';
import type { Principal } from '../auth/principal.js';
import { SESSION_COOKIE, type SessionsService } from '../auth/sessions.service.js';
import { hashToken } from '../auth/tokens.js';
import type { Config } from '../config.js';
import { TandemError } from '../errors.js';
import { tokenOf } from '../http/authenticate.js';
import type { Logger } from '../logger.js';
import type { RoomObserver } from './collab.metrics.js';
import type { CollabStore } from './collab.store.js';
import { CloseCode, Room, type Peer } from './room.js';

export const COLLAB_PATH = /^\/tandem\/collab\/([A-Za-z0-9-]{1,64})(?:\?|$)/;
const PING_MS = 30_000;

/** What a socket signed in with: an API token, or a browser's session cookie. */
type Credential = { token: string } | { sessionId: string };

/** WebSocket close reasons are at most 123 bytes of UTF-8: cut on a character boundary. */
export function closeReason(reason: string): string {
  const bytes = Buffer.from(reason);
  if (bytes.length <= 123) return reason;
  let end = 123;
  // Back up to the start of a character (continuation bytes are 10xxxxxx).
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString();
}

/**
 * Loaded rooms by notebook id. A room stays loaded while it has peers or leases; the last one
 * out flushes and compacts it, and a room reopened meanwhile waits for that to finish first.
 */
export class Rooms {
  private readonly open = new Map<string, Promise<Room>>();
  private readonly closing = new Map<string, Promise<void>>();
  private readonly wss: WebSocketServer;
  private readonly ping: NodeJS.Timeout;
  private readonly principals = new WeakMap<Peer, Principal>();
  /** What each socket signed in with, to re-check it when tokens, sessions or users change. */
  private readonly credentials = new WeakMap<Peer, Credential>();
  private readonly stopWatchingAuth: () => void;
  /** Tells this server's own announcements from other servers'. */
  private readonly origin = randomUUID();

  constructor(
    private readonly store: CollabStore,
    private readonly auth: AuthStore,
    private readonly permissions: Permissions,
    private readonly log: Logger,
    private readonly observer: RoomObserver,
    maxMessageBytes: number,
    private readonly sessions: Pick<SessionsService, 'resolve'>,
    private readonly origins: Pick<Config, 'allowedOrigins' | 'publicUrl'>,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
    // Sockets of clients that vanished without closing (laptop lid, network loss) are dropped.
    this.ping = setInterval(() => {
      for (const socket of this.wss.clients as Set<WebSocket & { alive?: boolean }>) {
        if (socket.alive === false) socket.terminate();
        else {
          socket.alive = false;
          socket.ping();
        }
      }
    }, PING_MS).unref();
    this.stopWatchingAuth = auth.onChange((change) => {
      this.reauthenticate(change).catch((error: unknown) => log.warn('re-checking collaboration sockets failed', { error: String(error) }));
    });
  }

  /**
   * Re-checks every open socket's token or session after tokens, sessions, users or teams changed
   * (here or on another server): revoked tokens, ended sessions and deactivated users are
   * disconnected, and roles follow team changes.
   */
  private async reauthenticate(change: AuthChange): Promise<void> {
    const revoked = change.kind === 'tokens' ? new Set(change.hashes) : undefined;
    for (const loading of this.open.values()) {
      const room = await loading.catch(() => undefined);
      if (!room) continue;
      for (const peer of room.connectedPeers()) {
        const credential = this.credentials.get(peer);
        // Only named tokens were revoked: nobody else's rights changed.
        if (revoked && !(credential && 'token' in credential && revoked.has(hashToken(credential.token)))) continue;
        const principal = credential && (await this.principalOf(credential));
        if (!principal) {
          peer.close(
            CloseCode.unauthenticated,
            credential && 'sessionId' in credential
              ? 'your session ended: sign in again'
              : 'your token was revoked or your account deactivated',
          );
          continue;
        }
        this.principals.set(peer, principal);
      }
      if (!revoked) await this.reauthorize(room.id);
    }
  }

  /** Loaded rooms and open sockets, for metrics. */
  counts(): { rooms: number; connections: number } {
    return { rooms: this.open.size, connections: this.wss.clients.size };
  }

  /** Runs `fn` on the notebook's live room, loading it if nobody has it open. */
  async use<T>(id: string, fn: (room: Room) => Promise<T> | T): Promise<T> {
    const room = await this.acquire(id);
    try {
      return await fn(room);
    } finally {
      this.release(room);
    }
  }

  /**
   * After sharing changed: re-checks the sockets on this server, then has every other server of
   * the database do the same for theirs.
   */
  async accessChanged(id: string): Promise<void> {
    await this.reauthorize(id);
    await this.store.announceAccessChange(this.origin, id);
  }

  /** Follows other servers' sharing changes; answers the function that stops. */
  watchAccess(): Promise<() => Promise<void>> {
    return this.store.listenForAccessChanges((origin, id) => {
      if (origin === this.origin) return;
      this.reauthorize(id).catch((error: unknown) => this.log.warn('re-checking collaboration sockets failed', { error: String(error) }));
    });
  }

  /**
   * Re-checks the role of everyone connected after sharing changed: demoted users become
   * read-only at once, users who lost access are disconnected.
   */
  async reauthorize(id: string): Promise<void> {
    const room = await this.open.get(id)?.catch(() => undefined);
    if (!room) return;
    for (const peer of room.connectedPeers()) {
      const principal = this.principals.get(peer);
      if (!principal) continue;
      const role = await this.permissions.roleOf(principal, 'notebook', id);
      if (!role) peer.close(CloseCode.forbidden, 'your access to this notebook was removed');
      else room.setCanWrite(peer, atLeast(role, 'editor'));
    }
  }

  /** Disconnects everyone from a deleted notebook. */
  async evict(id: string): Promise<void> {
    const room = await this.open.get(id)?.catch(() => undefined);
    room?.evict();
  }

  /** Takes a WebSocket upgrade for /tandem/collab/:id; answers false for other paths. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const match = COLLAB_PATH.exec(req.url ?? '');
    if (!match) return false;
    this.connect(match[1], req, socket, head).catch((error: unknown) => {
      const known = error instanceof TandemError ? error : new TandemError('INTERNAL', 'internal error', { cause: error });
      if (known.code === 'INTERNAL') this.log.error('collaboration handshake failed', { error: String(error) });
      socket.end(`HTTP/1.1 ${known.status} ${known.code}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${known.message}`);
    });
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.ping);
    this.stopWatchingAuth();
    const rooms = await Promise.all([...this.open.values()].map((p) => p.catch(() => undefined)));
    this.open.clear();
    await Promise.all(rooms.map((room) => room?.close()));
    await Promise.all(this.closing.values());
    this.wss.close();
  }

  private async connect(id: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const credential = this.credentialOf(req);
    const principal = credential && (await this.principalOf(credential));
    if (!principal || principal.tokenKind !== 'user')
      throw new TandemError('UNAUTHENTICATED', 'sign in, or send a user API token (?token= or Authorization: Bearer)');
    const role = await this.permissions.roleOf(principal, 'notebook', id);
    if (!role) throw new TandemError('NOT_FOUND', `notebook ${id} not found`);
    const room = await this.acquire(id);
    try {
      const ws = await new Promise<WebSocket>((resolve) => this.wss.handleUpgrade(req, socket, head, resolve));
      this.attach(room, ws, principal, credential!, atLeast(role, 'editor'));
    } finally {
      this.release(room);
    }
  }

  /**
   * The handshake's token, else its session cookie. Browsers send cookies with handshakes that
   * any site's page starts (cross-site WebSocket hijacking), so a cookie counts only when the
   * page's Origin is this server or one listed in TANDEM_ALLOWED_ORIGINS.
   */
  private credentialOf(req: IncomingMessage): Credential | undefined {
    const token = tokenOf({ headers: req.headers, url: req.url ?? '/' });
    if (token) return { token };
    const sessionId = parseCookies(req.headers.cookie ?? '')[SESSION_COOKIE];
    if (!sessionId) return undefined;
    const { allowedOrigins, publicUrl } = this.origins;
    const own = publicUrl ? new URL(publicUrl).origin : `http://${req.headers.host}`;
    const origin = req.headers.origin;
    if (!origin || !(origin === own || (allowedOrigins !== '*' && allowedOrigins.includes(origin)))) {
      throw new TandemError('FORBIDDEN', `signing in by cookie from another site (${origin ?? 'no Origin'}) is refused`);
    }
    return { sessionId };
  }

  private async principalOf(credential: Credential): Promise<Principal | undefined> {
    if ('token' in credential) return this.auth.authenticate(credential.token);
    return (await this.sessions.resolve(credential.sessionId))?.principal;
  }

  private attach(room: Room, ws: WebSocket & { alive?: boolean }, principal: Principal, credential: Credential, canWrite: boolean): void {
    ws.binaryType = 'nodebuffer';
    ws.alive = true;
    const peer: Peer = {
      userId: principal.id,
      canWrite,
      send: (data) => {
        if (ws.readyState === ws.OPEN) ws.send(data);
      },
      close: (code, reason) => {
        try {
          ws.close(code, closeReason(reason));
        } catch (error) {
          this.log.debug('closing a collaboration socket failed; dropping it', { notebook: room.id, error: String(error) });
          ws.terminate();
        }
      },
    };
    this.principals.set(peer, principal);
    this.credentials.set(peer, credential);
    ws.on('pong', () => {
      ws.alive = true;
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // Nothing a frame does may escape into the socket's event loop: that would end the server.
      try {
        if (!isBinary) peer.close(1003, 'binary y-websocket messages only');
        else room.receive(peer, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (error) {
        this.log.warn('dropping a collaboration socket after an unexpected error', { notebook: room.id, error: String(error) });
        ws.terminate();
      }
    });
    ws.on('error', (error) => this.log.debug('collaboration socket error', { notebook: room.id, error: String(error) }));
    ws.on('close', () => {
      room.leave(peer);
      this.maybeUnload(room);
    });
    room.join(peer);
  }

  private acquire(id: string): Promise<Room> {
    let loading = this.open.get(id);
    if (!loading) {
      const previous = this.closing.get(id);
      loading = (async () => {
        await previous;
        return Room.load(id, this.store, this.log, this.observer);
      })();
      this.open.set(id, loading);
      loading.catch(() => this.open.delete(id));
    }
    return loading.then((room) => {
      room.leases += 1;
      return room;
    });
  }

  private release(room: Room): void {
    room.leases -= 1;
    this.maybeUnload(room);
  }

  private maybeUnload(room: Room): void {
    if (room.leases > 0 || room.peerCount > 0) return;
    if (this.open.get(room.id) === undefined) return;
    this.open.delete(room.id);
    const done = room
      .close()
      .catch((error: unknown) => this.log.error('closing a notebook room failed', { notebook: room.id, error: String(error) }))
      .finally(() => {
        if (this.closing.get(room.id) === done) this.closing.delete(room.id);
      });
    this.closing.set(room.id, done);
  }
}
