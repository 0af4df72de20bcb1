import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as authProtocol from 'y-protocols/auth';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { PgCode, pgErrorCode } from '../db/db.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RoomObserver } from './collab.metrics.js';
import type { CollabStore } from './collab.store.js';

/** y-websocket message types. */
const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_AUTH = 2;
const MESSAGE_QUERY_AWARENESS = 3;

/** Log entries after which the room folds the log into a new snapshot. */
export const COMPACT_EVERY = 200;
const RETRY_WRITE_MS = 500;

/** One connected socket, as the room sees it. */
export interface Peer {
  /** The user behind the socket: awareness client ids belong to one user. */
  readonly userId: string;
  /** Changes when the user's role on the notebook changes. */
  canWrite: boolean;
  send(message: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** Close codes sent to clients; y-websocket does not reconnect after 4400–4499. */
export const CloseCode = {
  malformed: 4400,
  unauthenticated: 4401,
  forbidden: 4403,
  deleted: 4404,
  shutdown: 1001,
} as const;

interface Pending {
  update: Uint8Array;
  origin: unknown;
}

/**
 * A live document and its peers. Updates are applied at once (which also validates them), then
 * appended to the log and only then broadcast: whatever another client has seen is already
 * durable. Writes are grouped: while one append runs, the next updates queue and go as one row.
 */
export class Room {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  /** Held by REST operations, so that the room stays loaded while they use it. */
  leases = 0;
  private readonly peers = new Map<Peer, Set<number>>();
  private pending: Pending[] = [];
  private writing: Promise<void> | undefined;
  private compacting: Promise<void> | undefined;
  private logEntries: number;
  private lastSeq: number;
  private deleted = false;
  private closed = false;

  private constructor(
    readonly id: string,
    private readonly store: CollabStore,
    private readonly log: Logger,
    private readonly observer: RoomObserver,
    loaded: { state: Uint8Array; lastSeq: number; logEntries: number },
  ) {
    this.lastSeq = loaded.lastSeq;
    this.logEntries = loaded.logEntries;
    this.awareness.setLocalState(null);
    // Applied before listening: loading must not write the log again.
    Y.applyUpdate(this.doc, loaded.state);
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      this.pending.push({ update, origin });
      this.writing ??= this.writeLoop();
    });
    this.awareness.on('update', ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
      const owned = this.peers.get(origin as Peer);
      if (owned) {
        for (const id of added) owned.add(id);
        for (const id of removed) owned.delete(id);
      }
      const changed = [...added, ...updated, ...removed];
      this.broadcast(
        message(MESSAGE_AWARENESS, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed))),
      );
    });
  }

  static async load(id: string, store: CollabStore, log: Logger, observer: RoomObserver): Promise<Room> {
    const stored = await store.load(id);
    if (!stored) throw new TandemError('NOT_FOUND', `notebook ${id} not found`);
    const state = Y.mergeUpdates([stored.snapshot, ...stored.updates]);
    return new Room(id, store, log, observer, { state, lastSeq: stored.lastSeq, logEntries: stored.updates.length });
  }

  get peerCount(): number {
    return this.peers.size;
  }

  connectedPeers(): Peer[] {
    return [...this.peers.keys()];
  }

  join(peer: Peer): void {
    this.peers.set(peer, new Set());
    if (!peer.canWrite) peer.send(READ_ONLY_NOTICE);
    // Our state vector asks the client for whatever it has that we lack (offline edits).
    peer.send(message(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep1(e, this.doc)));
    const states = [...this.awareness.getStates().keys()];
    if (states.length > 0) {
      peer.send(
        message(MESSAGE_AWARENESS, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, states))),
      );
    }
  }

  /** Applies a role change to an open socket; a demoted client is told, so it stops editing instead of losing edits silently. */
  setCanWrite(peer: Peer, canWrite: boolean): void {
    if (peer.canWrite && !canWrite) peer.send(READ_ONLY_NOTICE);
    peer.canWrite = canWrite;
  }

  leave(peer: Peer): void {
    const owned = this.peers.get(peer);
    if (!owned) return;
    this.peers.delete(peer);
    awarenessProtocol.removeAwarenessStates(this.awareness, [...owned], null);
  }

  /**
   * Handles one binary message from `peer`. Malformed input closes that socket only; viewers'
   * document updates are dropped (they may still sync and share their cursor).
   */
  receive(peer: Peer, data: Uint8Array): void {
    // Frames still in flight when the room closes: the client sends them again after reconnecting.
    if (this.closed) return;
    try {
      const decoder = decoding.createDecoder(data);
      const type = decoding.readVarUint(decoder);
      if (type === MESSAGE_SYNC) this.receiveSync(peer, decoder);
      else if (type === MESSAGE_AWARENESS) this.receiveAwareness(peer, decoding.readVarUint8Array(decoder));
      else if (type === MESSAGE_QUERY_AWARENESS) {
        const states = [...this.awareness.getStates().keys()];
        peer.send(
          message(MESSAGE_AWARENESS, (e) =>
            encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, states)),
          ),
        );
      } else if (type !== MESSAGE_AUTH) throw new TandemError('INVALID_ARGUMENT', `unknown message type ${type}`);
    } catch (error) {
      const forbidden = error instanceof TandemError && error.code === 'FORBIDDEN';
      this.observer.rejected(forbidden ? 'foreign_awareness' : 'malformed');
      this.log.warn('closing collaboration socket after a refused message', { notebook: this.id, error: String(error) });
      const text = String((error as Error)?.message ?? error);
      peer.close(forbidden ? CloseCode.forbidden : CloseCode.malformed, forbidden ? text : `malformed message: ${text}`);
    }
  }

  /**
   * Presence (cursors, names) under the sender's own client ids only: an id another user's socket
   * holds is not theirs to change, so nobody moves or removes somebody else's cursor. Stock clients
   * echo the presence they receive; such an echo changes nothing (its clock is not newer) and
   * passes. An id held by the same user's older socket (a reconnect before the old one timed out)
   * moves to the new one.
   */
  private receiveAwareness(peer: Peer, update: Uint8Array): void {
    for (const { clientId, clock } of awarenessEntries(update)) {
      const current = this.awareness.meta.get(clientId)?.clock;
      if (current !== undefined && clock <= current) continue;
      for (const [other, owned] of this.peers) {
        if (other === peer || !owned.has(clientId)) continue;
        if (other.userId !== peer.userId) throw new TandemError('FORBIDDEN', `awareness client ${clientId} belongs to another user`);
        owned.delete(clientId);
        this.peers.get(peer)!.add(clientId);
      }
    }
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, peer);
  }

  private receiveSync(peer: Peer, decoder: decoding.Decoder): void {
    const kind = decoding.readVarUint(decoder);
    if (kind === syncProtocol.messageYjsSyncStep1) {
      const vector = decoding.readVarUint8Array(decoder);
      peer.send(message(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep2(e, this.doc, vector)));
      return;
    }
    if (kind !== syncProtocol.messageYjsSyncStep2 && kind !== syncProtocol.messageYjsUpdate) {
      throw new TandemError('INVALID_ARGUMENT', `unknown sync message ${kind}`);
    }
    const update = decoding.readVarUint8Array(decoder);
    if (!peer.canWrite) {
      this.observer.rejected('viewer_update');
      return;
    }
    Y.applyUpdate(this.doc, update, peer);
  }

  /** Applies a server-made update (restore) through the same log-then-broadcast path. */
  apply(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, this);
  }

  state(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc);
  }

  /** Resolves once every update received so far is in the log. */
  async flush(): Promise<void> {
    while (this.writing || this.compacting) await (this.writing ?? this.compacting);
  }

  /** Flushes, folds the log into the snapshot and drops the peers' sockets. */
  async close(): Promise<void> {
    this.closed = true;
    for (const peer of this.peers.keys()) peer.close(CloseCode.shutdown, 'server closing');
    await this.flush();
    if (this.logEntries > 0 && !this.deleted) await this.compact();
    this.doc.destroy();
  }

  /** The notebook was deleted: disconnect everyone and write nothing more. */
  evict(): void {
    this.deleted = true;
    this.pending = [];
    for (const peer of this.peers.keys()) peer.close(CloseCode.deleted, 'notebook deleted');
  }

  private async writeLoop(): Promise<void> {
    while (this.pending.length > 0 && !this.deleted) {
      const batch = this.pending;
      this.pending = [];
      const merged = batch.length === 1 ? batch[0].update : Y.mergeUpdates(batch.map((p) => p.update));
      try {
        const started = performance.now();
        this.lastSeq = await this.store.append(this.id, merged);
        this.observer.persisted((performance.now() - started) / 1000);
        this.logEntries += 1;
      } catch (error) {
        if (pgErrorCode(error) === PgCode.foreignKeyViolation) {
          this.evict();
          break;
        }
        this.log.error('appending a notebook update failed; retrying', { notebook: this.id, error: String(error) });
        this.pending = [...batch, ...this.pending];
        if (this.closed) break;
        await new Promise((resolve) => setTimeout(resolve, RETRY_WRITE_MS));
        continue;
      }
      // One message per peer per batch: under load, batches grow and sends do not. A batch's
      // senders get their own edits back with the others', which Yjs ignores.
      this.broadcast(
        message(MESSAGE_SYNC, (e) => syncProtocol.writeUpdate(e, merged)),
        batch.length === 1 ? batch[0].origin : undefined,
      );
      // Compaction runs beside the write loop, so that edits are not held up behind it.
      if (this.logEntries >= COMPACT_EVERY && !this.compacting) {
        this.compacting = this.compact()
          .catch((error: unknown) => this.log.warn('compacting a notebook failed', { notebook: this.id, error: String(error) }))
          .finally(() => (this.compacting = undefined));
      }
    }
    this.writing = undefined;
  }

  private async compact(): Promise<void> {
    // The doc may hold updates still queued; the snapshot then covers more than through_seq,
    // which is harmless: re-applying those log entries later is a no-op.
    const [state, through, entries] = [Y.encodeStateAsUpdate(this.doc), this.lastSeq, this.logEntries];
    await this.store.compact(this.id, state, through);
    this.logEntries -= entries;
  }

  private broadcast(data: Uint8Array, except?: unknown): void {
    for (const peer of this.peers.keys()) if (peer !== except) peer.send(data);
  }
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

/** y-protocols' auth "permission denied": the client may read and show presence, but its edits are dropped. */
const READ_ONLY_NOTICE = message(MESSAGE_AUTH, (e) =>
  authProtocol.writePermissionDenied(e, 'you are a viewer of this notebook: edits are not saved'),
);

/** The clients an awareness update speaks for, with their clocks (y-protocols: count, then id, clock, state per entry). */
function awarenessEntries(update: Uint8Array): { clientId: number; clock: number }[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: { clientId: number; clock: number }[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({ clientId: decoding.readVarUint(decoder), clock: decoding.readVarUint(decoder) });
    decoding.readVarString(decoder);
  }
  return entries;
}

function message(type: number, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  write(encoder);
  return encoding.toUint8Array(encoder);
}
