import type { YDocument } from '@jupyter/ydoc';
import { Token } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import type { SharedNotebook } from './collab/api';
import type { ConnectionStatus } from './collab/provider';
import type { Me } from '@tandem/server/api';
import type { ClientMode, TandemClient } from './requests';

/**
 * The Tandem server connection every plugin uses (URL from page config or settings). With a token
 * there it acts as that token's user; without, as the person signed in to Tandem in this browser.
 */
export interface ITandemClient {
  readonly url: string;
  readonly mode: ClientMode;
  /** Who the requests act as: undefined until known, null when nobody is signed in. */
  readonly user: Me | null | undefined;
  /** Emits on sign-in, sign-out, and when a request finds the session ended (a 401). */
  readonly userChanged: ISignal<ITandemClient, Me | null>;
  /** Calls `/tandem/api/<path>`, e.g. `models?q=x`, and answers the parsed JSON. */
  request<T>(path: string, init?: Parameters<TandemClient['request']>[1]): Promise<T>;
  /** Like request(), but answers the raw response (file downloads). */
  fetch(path: string, init?: Parameters<TandemClient['fetch']>[1]): Promise<Response>;
  /** A link, WebSocket or EventSource URL as it must be opened (with `?token=` in token mode only). */
  authorizedUrl(url: string): string;
  /** Changes the server URL or token (from the settings). */
  update(settings: { url?: string; token?: string }): void;
}

export const ITandemClient = new Token<ITandemClient>('@tandem/extension:ITandemClient', 'Calls the Tandem server API.');

/** A shared notebook's connection to its room on the Tandem server. */
export interface ICollabProvider extends IDisposable {
  readonly sharedModel: YDocument<any>;
  /** Resolves after the first sync with the room. */
  readonly ready: Promise<void>;
  readonly statusChanged: ISignal<ICollabProvider, { status: ConnectionStatus; reason?: string }>;
  /** Why the document is read-only for this user, or undefined while they may edit. */
  readonly readOnlyReason: string | undefined;
  readonly readOnlyChanged: ISignal<ICollabProvider, string>;
}

/** The shared-notebooks drive: its rooms' providers and the notebook behind a path. */
export interface ITandemDrive {
  /** The room connection of an open notebook, by drive-local path. */
  providerFor(path: string): ICollabProvider | undefined;
  readonly providerAdded: ISignal<ITandemDrive, { path: string; provider: ICollabProvider }>;
  /** The shared notebook listed at a drive-local path. */
  notebookAt(path: string): SharedNotebook | undefined;
  /** The drive-local path of the shared notebook `id` (listing afresh when unknown); undefined when the caller cannot see it. */
  pathOfNotebook(id: string): Promise<string | undefined>;
}

export const ITandemDrive = new Token<ITandemDrive>('@tandem/extension:ITandemDrive', 'Shared notebooks on the Tandem server.');
