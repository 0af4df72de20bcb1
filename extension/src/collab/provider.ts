import type { YDocument } from '@jupyter/ydoc';
import { PromiseDelegate } from '@lumino/coreutils';
import { Signal, type ISignal } from '@lumino/signaling';
import * as authProtocol from 'y-protocols/auth';
import * as awarenessProtocol from 'y-protocols/awareness';
import { messageAuth, WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { ICollabProvider } from '../tokens';

const MAX_BACKOFF_MS = 5_000;

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** The server's close codes 4400–4499 (server/src/collab/room.ts `CloseCode`) are its decision: reconnecting cannot help. */
export function isFinalClose(code: number): boolean {
  return code >= 4400 && code < 4500;
}

/** Undoes a read-only user's local changes; its own class, so that tracking Y.UndoManager does not track it. */
class Rollback extends Y.UndoManager {}

/** y-websocket wants the server URL and the room name apart, and the query as parameters. */
function splitRoomUrl(url: string): { server: string; room: string; params: Record<string, string> } {
  const parsed = new URL(url);
  const slash = parsed.pathname.lastIndexOf('/');
  return {
    server: parsed.origin + parsed.pathname.slice(0, slash),
    room: parsed.pathname.slice(slash + 1),
    params: Object.fromEntries(parsed.searchParams),
  };
}

/**
 * Binds a shared document (@jupyter/ydoc) to a Tandem room with y-websocket's `WebsocketProvider`,
 * as jupyter-collaboration does. The client never seeds content: it only sends what the user
 * changed, and after a reconnect the server's state vector tells it which offline edits to send.
 * Closes with codes 4400–4499 (malformed, access removed, deleted) are final (`shouldReconnect`);
 * anything else reconnects with backoff. When the server says the user may only view (y-protocols'
 * permission-denied message), the provider turns read-only: it stops sending and rolls back local
 * changes, so the page never shows edits the room dropped.
 */
export class CollabProvider implements ICollabProvider {
  private readonly provider: WebsocketProvider;
  private readonly synced = new PromiseDelegate<void>();
  private disposed = false;
  private readonly statusChanged_ = new Signal<this, { status: ConnectionStatus; reason?: string }>(this);
  private readonly readOnlyChanged_ = new Signal<this, string>(this);
  /** Set once the server reports the user as a viewer; undoes every local change from then on. */
  private rollback: Rollback | undefined;
  private readOnlyReason_: string | undefined;

  constructor(
    url: string,
    readonly sharedModel: YDocument<any>,
  ) {
    const { server, room, params } = splitRoomUrl(url);
    this.provider = new WebsocketProvider(server, room, sharedModel.ydoc, {
      connect: false,
      awareness: sharedModel.awareness,
      // A token rides in the URL, as browsers cannot set headers on a WebSocket; a session's
      // cookie goes with the handshake by itself (the server then checks the page's Origin).
      params,
      // Every edit goes through the room, which enforces viewers' read-only: no tab-to-tab shortcut.
      disableBc: true,
      maxBackoffTime: MAX_BACKOFF_MS,
      shouldReconnect: (event) => !isFinalClose(event.code),
    });
    this.provider.messageHandlers[messageAuth] = (_encoder, decoder) =>
      authProtocol.readAuthMessage(decoder, sharedModel.ydoc, (_, reason) => this.becomeReadOnly(reason));
    this.provider.on('status', this.onStatus);
    this.provider.on('connection-close', this.onConnectionClose);
    this.provider.on('sync', this.onSync);
    this.provider.on('closed', this.onClosed);
    window.addEventListener('beforeunload', this.onUnload);
    this.provider.connect();
  }

  /** Resolves after the first sync with the server; rejects when the server refuses the room first. */
  get ready(): Promise<void> {
    return this.synced.promise;
  }

  /** 'connected' once synced with the room, 'closed' (with the server's reason) when it will not reconnect. */
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
    window.removeEventListener('beforeunload', this.onUnload);
    this.sharedModel.ydoc.off('afterTransaction', this.onAfterTransaction);
    this.rollback?.destroy();
    awarenessProtocol.removeAwarenessStates(this.sharedModel.awareness, [this.sharedModel.ydoc.clientID], 'dispose');
    this.provider.destroy();
    Signal.clearData(this);
  }

  /** The socket opening is not enough to show a notebook: 'connected' waits for the sync (onSync). */
  private readonly onStatus = ({ status }: { status: 'connected' | 'disconnected' | 'connecting' }): void => {
    if (!this.disposed && status === 'connecting') this.statusChanged_.emit({ status });
  };

  /** Every lost connection, also one that never opened; final closes are reported by onClosed. */
  private readonly onConnectionClose = (event: CloseEvent | null): void => {
    if (this.disposed || (event && isFinalClose(event.code))) return;
    // No event: y-websocket closed a connection that had gone silent.
    this.statusChanged_.emit({ status: 'disconnected', reason: event ? event.reason : 'the server stopped answering' });
  };

  private readonly onSync = (synced: boolean): void => {
    if (!synced || this.disposed) return;
    this.statusChanged_.emit({ status: 'connected' });
    this.synced.resolve();
  };

  private readonly onClosed = ({ code, reason }: { code: number; reason: string }): void => {
    if (this.disposed) return;
    const why = reason || `closed by the server (${code})`;
    this.statusChanged_.emit({ status: 'closed', reason: why });
    this.synced.reject(new Error(why));
  };

  private becomeReadOnly(reason: string): void {
    if (this.readOnlyReason_ !== undefined) return;
    this.readOnlyReason_ = reason;
    const ydoc = this.sharedModel.ydoc;
    // Document updates stop going out (presence still does): the room would drop them anyway.
    ydoc.off('update', this.provider._updateHandler);
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

  private readonly onUnload = (): void => {
    awarenessProtocol.removeAwarenessStates(this.sharedModel.awareness, [this.sharedModel.ydoc.clientID], 'window unload');
  };
}
