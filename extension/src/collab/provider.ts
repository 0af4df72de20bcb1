import type { YDocument } from '@jupyter/ydoc';
import { PromiseDelegate } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import { Signal, type ISignal } from '@lumino/signaling';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as authProtocol from 'y-protocols/auth';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_AUTH = 2;
const MAX_BACKOFF_MS = 5_000;

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** Undoes a read-only user's local changes; its own class, so that tracking Y.UndoManager does not track it. */
class Rollback extends Y.UndoManager {}

/**
 * Binds a shared document (@jupyter/ydoc) to a Tandem room over the y-websocket protocol. The
 * client never seeds content: it only sends what the user changed, and after a reconnect the
 * server's state vector tells it which offline edits to send. Closes with codes 4400–4499
 * (malformed, deleted) are final; anything else reconnects with backoff. When the server says the
 * user may only view (y-protocols' permission-denied message), the provider turns read-only: it
 * stops sending and rolls back local changes, so the page never shows edits the room dropped.
 */
export class CollabProvider implements IDisposable {
  private socket: WebSocket | undefined;
  private readonly synced = new PromiseDelegate<void>();
  private attempts = 0;
  private retry: number | undefined;
  private disposed = false;
  private readonly statusChanged_ = new Signal<this, { status: ConnectionStatus; reason?: string }>(this);
  private readonly readOnlyChanged_ = new Signal<this, string>(this);
  /** Set once the server reports the user as a viewer; undoes every local change from then on. */
  private rollback: Rollback | undefined;
  private readOnlyReason_: string | undefined;

  constructor(
    private readonly url: string,
    readonly sharedModel: YDocument<any>,
  ) {
    sharedModel.ydoc.on('update', this.onDocUpdate);
    sharedModel.awareness.on('update', this.onAwarenessUpdate);
    window.addEventListener('beforeunload', this.onUnload);
    this.connect();
  }

  /** Resolves after the first sync with the server. */
  get ready(): Promise<void> {
    return this.synced.promise;
  }

  get statusChanged(): ISignal<this, { status: ConnectionStatus; reason?: string }> {
    return this.statusChanged_;
  }

  /** Why the document is read-only for this user, or undefined while they may edit. */
  get readOnlyReason(): string | undefined {
    return this.readOnlyReason_;
  }

  /** Emits the reason once the server makes the document read-only for this user. */
  get readOnlyChanged(): ISignal<this, string> {
    return this.readOnlyChanged_;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    window.clearTimeout(this.retry);
    window.removeEventListener('beforeunload', this.onUnload);
    this.sharedModel.ydoc.off('update', this.onDocUpdate);
    this.sharedModel.ydoc.off('afterTransaction', this.onAfterTransaction);
    this.rollback?.destroy();
    this.sharedModel.awareness.off('update', this.onAwarenessUpdate);
    awarenessProtocol.removeAwarenessStates(this.sharedModel.awareness, [this.sharedModel.ydoc.clientID], 'dispose');
    this.socket?.close(1000, 'closed');
    Signal.clearData(this);
  }

  private connect(): void {
    this.statusChanged_.emit({ status: 'connecting' });
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      this.send(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep1(e, this.sharedModel.ydoc));
      const awareness = this.sharedModel.awareness;
      if (awareness.getLocalState() !== null) {
        this.send(MESSAGE_AWARENESS, (e) =>
          encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [awareness.clientID])),
        );
      }
    };
    socket.onmessage = (event) => this.receive(new Uint8Array(event.data as ArrayBuffer));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      const others = [...this.sharedModel.awareness.getStates().keys()].filter((id) => id !== this.sharedModel.ydoc.clientID);
      awarenessProtocol.removeAwarenessStates(this.sharedModel.awareness, others, this);
      if (this.disposed) return;
      if (event.code >= 4400 && event.code < 4500) {
        this.statusChanged_.emit({ status: 'closed', reason: event.reason || `closed by the server (${event.code})` });
        this.synced.reject(new Error(event.reason || `closed by the server (${event.code})`));
        return;
      }
      this.statusChanged_.emit({ status: 'disconnected', reason: event.reason });
      this.attempts += 1;
      this.retry = window.setTimeout(() => this.connect(), Math.min(100 * 2 ** this.attempts, MAX_BACKOFF_MS));
    };
  }

  private receive(data: Uint8Array): void {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    if (type === MESSAGE_SYNC) {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      const kind = syncProtocol.readSyncMessage(decoder, encoder, this.sharedModel.ydoc, this);
      if (encoding.length(encoder) > 1) this.socket?.send(encoding.toUint8Array(encoder));
      if (kind === syncProtocol.messageYjsSyncStep2) {
        this.attempts = 0;
        this.statusChanged_.emit({ status: 'connected' });
        this.synced.resolve();
      }
    } else if (type === MESSAGE_AWARENESS) {
      awarenessProtocol.applyAwarenessUpdate(this.sharedModel.awareness, decoding.readVarUint8Array(decoder), this);
    } else if (type === MESSAGE_AUTH) {
      authProtocol.readAuthMessage(decoder, this.sharedModel.ydoc, (_, reason) => this.becomeReadOnly(reason));
    }
  }

  private becomeReadOnly(reason: string): void {
    if (this.readOnlyReason_ !== undefined) return;
    this.readOnlyReason_ = reason;
    const ydoc = this.sharedModel.ydoc;
    // Local edits come from the notebook model (its own origin, or null for outputs and state) and
    // from JupyterLab's undo managers (Ctrl-Z); only cells and notebook metadata are shared content.
    this.rollback = new Rollback([ydoc.getArray('cells'), ydoc.getMap('metadata')], {
      trackedOrigins: new Set<unknown>([null, this.sharedModel, Y.UndoManager]),
      captureTimeout: 0,
    });
    // The rollback must not track its own undos. They run while Yjs cleans up the edit's transaction,
    // so Yjs no longer knows they are undos: tracked (Yjs tracks an UndoManager's own transactions, and
    // Y.UndoManager above matches by class), each would be recorded as a new edit and undone by the
    // next transaction, re-applying the user's edit, again and again (a stack overflow).
    this.rollback.trackedOrigins.delete(this.rollback);
    ydoc.on('afterTransaction', this.onAfterTransaction);
    this.readOnlyChanged_.emit(reason);
  }

  private readonly onAfterTransaction = (transaction: Y.Transaction): void => {
    const rollback = this.rollback;
    if (!rollback || transaction.origin === rollback || rollback.undoStack.length === 0) return;
    while (rollback.undoStack.length > 0) rollback.undo();
    rollback.clear(false, true);
  };

  private send(type: number, write: (encoder: encoding.Encoder) => void): void {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, type);
    write(encoder);
    this.socket.send(encoding.toUint8Array(encoder));
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin !== this && this.readOnlyReason_ === undefined) this.send(MESSAGE_SYNC, (e) => syncProtocol.writeUpdate(e, update));
  };

  private readonly onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin === this) return;
    const changed = [...added, ...updated, ...removed];
    this.send(MESSAGE_AWARENESS, (e) =>
      encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.sharedModel.awareness, changed)),
    );
  };

  private readonly onUnload = (): void => {
    awarenessProtocol.removeAwarenessStates(this.sharedModel.awareness, [this.sharedModel.ydoc.clientID], 'window unload');
  };
}
