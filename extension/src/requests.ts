import { PageConfig } from '@jupyterlab/coreutils';

/** Error codes the Tandem server answers with (see server/src/errors.ts). */
export type TandemErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'NETWORK';

/** Every failed Tandem request becomes one of these; `code` is what UIs switch on. */
export class TandemRequestError extends Error {
  constructor(
    readonly code: TandemErrorCode,
    message: string,
    readonly status: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'TandemRequestError';
  }
}

export interface TandemSettings {
  /** Base URL of the Tandem server, e.g. http://127.0.0.1:8787 */
  url: string;
  token: string;
}

/** Reads the server URL and token that `npm start` writes into JupyterLab's page config. */
export function settingsFromPageConfig(): TandemSettings {
  return { url: PageConfig.getOption('tandemUrl').replace(/\/$/, ''), token: PageConfig.getOption('tandemToken') };
}

/** The one place the extension talks HTTP to the Tandem server. */
export class TandemClient {
  constructor(private settings: TandemSettings) {}

  get url(): string {
    return this.settings.url;
  }

  get token(): string {
    return this.settings.token;
  }

  update(settings: Partial<TandemSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  /** `path` is relative to /tandem/api, e.g. `models?q=x`. */
  async request<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
    const { json, headers, ...rest } = init;
    if (!this.settings.url) {
      throw new TandemRequestError('UNAVAILABLE', 'Tandem server URL is not configured (settings › Tandem)', 0);
    }
    let response: Response;
    try {
      response = await fetch(`${this.settings.url}/tandem/api/${path.replace(/^\//, '')}`, {
        ...rest,
        headers: {
          authorization: `Bearer ${this.settings.token}`,
          ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
    } catch (cause) {
      throw new TandemRequestError('NETWORK', `cannot reach the Tandem server at ${this.settings.url}`, 0, { cause });
    }
    if (response.status === 204) return undefined as T;
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      // The connection broke off after the headers: still a TandemRequestError, so UIs can say so.
      throw new TandemRequestError('NETWORK', `the connection to the Tandem server at ${this.settings.url} broke off`, response.status, {
        cause,
      });
    }
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const error = body?.error;
      throw new TandemRequestError(error?.code ?? 'INTERNAL', error?.message ?? `HTTP ${response.status}`, response.status);
    }
    return body as T;
  }
}
