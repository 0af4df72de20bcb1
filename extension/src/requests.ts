import { PageConfig } from '@jupyterlab/coreutils';
import { apiFetch, apiRequest, TandemApiError, type ApiRequestInit } from '@tandem/server/api';

export { TandemApiError };

export interface TandemSettings {
  /** Base URL of the Tandem server, e.g. http://127.0.0.1:8787 */
  url: string;
  token: string;
}

/** Reads the server URL and token that `npm start` writes into JupyterLab's page config. */
export function settingsFromPageConfig(): TandemSettings {
  return { url: PageConfig.getOption('tandemUrl').replace(/\/$/, ''), token: PageConfig.getOption('tandemToken') };
}

/**
 * The one place the extension talks HTTP to the Tandem server, through the shared client of
 * '@tandem/server/api': every failure is a TandemApiError whose `code` UIs switch on.
 */
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
  async request<T>(path: string, init: ApiRequestInit = {}): Promise<T> {
    if (!this.settings.url) {
      throw new TandemApiError('UNAVAILABLE', 'Tandem server URL is not configured (settings › Tandem)', 0);
    }
    return apiRequest<T>(this.settings, path, init);
  }

  /** Like request(), but answers the raw response (for files): the token travels in the header. */
  async fetch(path: string, init: ApiRequestInit = {}): Promise<Response> {
    if (!this.settings.url) {
      throw new TandemApiError('UNAVAILABLE', 'Tandem server URL is not configured (settings › Tandem)', 0);
    }
    return apiFetch(this.settings, path, init);
  }
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
