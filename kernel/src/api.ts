/**
 * The cell SDK's connection to the Tandem server. The kernel inherits TANDEM_URL and TANDEM_TOKEN
 * from the Jupyter server's environment (`npm start` sets them). Requests go through the shared
 * client of '@tandem/server/api', so failures are its TandemApiError (NETWORK, status 0, when the
 * server cannot be reached).
 */
import { apiFetch, apiRequest, TandemApiError, type ApiRequestInit, type ApiSettings as SharedSettings } from '@tandem/server/api';

export { TandemApiError };

export interface ApiSettings extends SharedSettings {
  token: string;
}

export function apiSettings(env: NodeJS.ProcessEnv = process.env): ApiSettings {
  const url = env.TANDEM_URL?.replace(/\/$/, '');
  if (!url) {
    throw new TandemApiError('UNAVAILABLE', 'TANDEM_URL is not set: start Jupyter with `npm start`, or set TANDEM_URL and TANDEM_TOKEN', 0);
  }
  return { url, token: env.TANDEM_TOKEN ?? '' };
}

export interface RequestOptions extends ApiRequestInit {
  /** Return the raw Response (streams, downloads) instead of parsed JSON. */
  raw?: boolean;
}

/** Calls `/tandem/api/<path>`; failures become TandemApiError with the server's code and message. */
export async function request<T>(path: string, options: RequestOptions = {}, settings = apiSettings()): Promise<T> {
  const { raw, ...init } = options;
  if (raw) return (await apiFetch(settings, path, init)) as T;
  return apiRequest<T>(settings, path, init);
}
