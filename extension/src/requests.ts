import { PageConfig } from '@jupyterlab/coreutils';
import { Signal, type ISignal } from '@lumino/signaling';
import {
  apiFetch,
  apiRequest,
  TandemApiError,
  type ApiRequestInit,
  type ApiSettings,
  type KernelToken,
  type Me,
  type SignedIn,
} from '@tandem/server/api';

export { TandemApiError };

export interface TandemSettings {
  /** Base URL of the Tandem server, e.g. http://127.0.0.1:8787 */
  url: string;
  /** An API token (settings, or page config of scripted set-ups): token mode. Empty: session mode. */
  token: string;
  /** Single-person mode: the key `npm start` hands over, exchanged for a session. */
  signInKey?: string;
}

/** Reads the server URL (and a token or the single-person sign-in key) from JupyterLab's page config. */
export function settingsFromPageConfig(): TandemSettings {
  return {
    url: PageConfig.getOption('tandemUrl').replace(/\/$/, ''),
    token: PageConfig.getOption('tandemToken'),
    signInKey: PageConfig.getOption('tandemSignInKey') || undefined,
  };
}

/** `token`: every request carries the API token. `session`: the browser's session cookie signs them in. */
export type ClientMode = 'token' | 'session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const NOT_SIGNED_IN = 'not signed in to Tandem: use “Sign in to Tandem” in the status bar';

/**
 * The one place the extension talks HTTP to the Tandem server, through the shared client of
 * '@tandem/server/api': every failure is a TandemApiError whose `code` UIs switch on.
 *
 * With a token it sends that token (token mode). Without, it acts as the person signed in to the
 * Tandem server in this browser (session mode): requests go with the session cookie
 * (`credentials: 'include'`; the server must list JupyterLab's origin in TANDEM_ALLOWED_ORIGINS)
 * and writes with the session's CSRF token. Any 401 there means the session ended: `user`
 * becomes null and `userChanged` tells the panels.
 */
export class TandemClient {
  private user_: Me | null | undefined;
  private csrfToken: Promise<string> | undefined;
  private readonly userChanged_ = new Signal<this, Me | null>(this);

  constructor(private settings: TandemSettings) {}

  get url(): string {
    return this.settings.url;
  }

  get mode(): ClientMode {
    return this.settings.token ? 'token' : 'session';
  }

  /** Single-person mode's sign-in key, when `npm start` handed one over. */
  get signInKey(): string | undefined {
    return this.settings.signInKey;
  }

  /** Who the requests act as: undefined until known, null when nobody is signed in. */
  get user(): Me | null | undefined {
    return this.user_;
  }

  /** Emits whenever `user` changes: a sign-in, a sign-out, or a session that ended (any 401). */
  get userChanged(): ISignal<this, Me | null> {
    return this.userChanged_;
  }

  update(settings: Partial<TandemSettings>): void {
    this.settings = { ...this.settings, ...settings };
    this.csrfToken = undefined;
  }

  /** `path` is relative to /tandem/api, e.g. `models?q=x`. */
  request<T>(path: string, init: ApiRequestInit = {}): Promise<T> {
    return this.send(init, (settings) => apiRequest<T>(settings, path, init));
  }

  /** Like request(), but answers the raw response (for files): the credentials never go in a URL. */
  fetch(path: string, init: ApiRequestInit = {}): Promise<Response> {
    return this.send(init, (settings) => apiFetch(settings, path, init));
  }

  /**
   * `url` (a link, a WebSocket or an EventSource, none of which can send headers) as it must be
   * opened: with `?token=` in token mode; as it is in session mode, where the cookie goes along.
   */
  authorizedUrl(url: string): string {
    if (this.mode === 'session') return url;
    return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(this.settings.token)}`;
  }

  /**
   * Follows the server-sent events named `event` at `path` (relative to /tandem/api) until the
   * answer is called. EventSource reconnects by itself after network blips, but not after a
   * refusal: in session mode the stream opens again at each sign-in.
   */
  events<T>(path: string, event: string, onEvent: (data: T) => void): () => void {
    let source: EventSource | undefined;
    const open = () => {
      source?.close();
      source = new EventSource(this.authorizedUrl(`${this.url}/tandem/api/${path}`), { withCredentials: this.mode === 'session' });
      source.addEventListener(event, (e) => onEvent(JSON.parse((e as MessageEvent<string>).data) as T));
    };
    const onUser = (_: unknown, user: Me | null) => {
      if (user && this.mode === 'session') open();
    };
    open();
    this.userChanged.connect(onUser);
    return () => {
      this.userChanged.disconnect(onUser);
      source?.close();
    };
  }

  /** Asks the server who the requests act as (`me` in token mode, the session in session mode). */
  async refreshUser(): Promise<Me | null> {
    try {
      if (this.mode === 'token') this.setUser(await this.request<Me>('me'));
      else this.signedIn(await this.request<SignedIn>('sessions/current'));
    } catch (error) {
      // A 401 has already signed the person out (send); other failures say nothing about them.
      if (!(error instanceof TandemApiError) || error.status !== 401) throw error;
    }
    return this.user_ ?? null;
  }

  /** Single-person mode: trades the sign-in key for a session. */
  async signInWithKey(key: string): Promise<Me> {
    return this.signedIn(await this.request<SignedIn>('sessions/key', { method: 'POST', json: { key } }));
  }

  /** Ends the session on the server: the kernel tokens it minted stop working with it. */
  async signOut(): Promise<void> {
    await this.request('sessions/current', { method: 'DELETE' });
    this.csrfToken = undefined;
    this.setUser(null);
  }

  /** A token for one of the person's kernels, bound to this browser's session (session mode only). */
  mintKernelToken(name: string): Promise<KernelToken> {
    return this.request<KernelToken>('sessions/current/tokens', { method: 'POST', json: { name } });
  }

  private async send<T>(init: ApiRequestInit, call: (settings: ApiSettings) => Promise<T>): Promise<T> {
    const { url, token } = this.settings;
    if (!url) {
      throw new TandemApiError('UNAVAILABLE', 'Tandem server URL is not configured (settings › Tandem)', 0);
    }
    if (this.mode === 'token') return call({ url, token });
    const write = !SAFE_METHODS.has((init.method ?? 'GET').toUpperCase());
    // Without a session there is no CSRF token (signing in needs none): the server says what is missing.
    const attempt = async () =>
      call({ url, credentials: 'include', csrfToken: write ? await this.csrf().catch(() => undefined) : undefined });
    try {
      try {
        return await attempt();
      } catch (error) {
        // The session changed under us (signed in again elsewhere in this browser): one more try with its token.
        if (!write || !isCsrfRefusal(error)) throw error;
        this.csrfToken = undefined;
        return await attempt();
      }
    } catch (error) {
      if (error instanceof TandemApiError && error.status === 401) {
        this.csrfToken = undefined;
        this.setUser(null);
        throw new TandemApiError('UNAUTHENTICATED', NOT_SIGNED_IN, 401, { cause: error, details: error.details });
      }
      throw error;
    }
  }

  /** The session's CSRF token, fetched once per session. */
  private csrf(): Promise<string> {
    this.csrfToken ??= this.request<SignedIn>('sessions/current').then((session) => {
      this.setUser(session.user);
      return session.csrfToken;
    });
    const pending = this.csrfToken;
    pending.catch(() => {
      if (this.csrfToken === pending) this.csrfToken = undefined;
    });
    return pending;
  }

  private signedIn(session: SignedIn): Me {
    this.csrfToken = Promise.resolve(session.csrfToken);
    this.setUser(session.user);
    return session.user;
  }

  private setUser(user: Me | null): void {
    if (JSON.stringify(user) === JSON.stringify(this.user_)) return;
    this.user_ = user;
    this.userChanged_.emit(user);
  }
}

function isCsrfRefusal(error: unknown): boolean {
  return error instanceof TandemApiError && error.status === 403 && (error.details as { reason?: unknown } | undefined)?.reason === 'csrf';
}

/**
 * Saves the file at `/tandem/api/<path>` as `filename`: fetched with the token in the
 * Authorization header, then handed to the browser as a Blob, so no credential is ever put in a URL.
 */
export async function downloadFile(client: Pick<TandemClient, 'fetch'>, path: string, filename: string): Promise<void> {
  const url = URL.createObjectURL(await (await client.fetch(path)).blob());
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = filename;
    link.style.display = 'none';
    document.body.appendChild(link);
    link.click();
    link.remove();
  } finally {
    // The click starts the download synchronously; the object URL only has to outlive it.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
