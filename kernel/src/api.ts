/**
 * The cell SDK's connection to the Tandem server, as the person JupyterLab signed in (identity.ts
 * sets TANDEM_URL and TANDEM_TOKEN), or as the environment says (headless runs). They are read on
 * every request. Requests go through the shared client of '@tandem/server/api', so failures are
 * its TandemApiError (NETWORK, status 0, when the server cannot be reached).
 */
import { apiFetch, apiRequest, TandemApiError, type ApiRequestInit, type ApiSettings as SharedSettings } from '@tandem/server/api';
import { identityFromJupyterLab } from './identity.js';

export { TandemApiError };

export interface ApiSettings extends SharedSettings {
  token: string;
}

export function apiSettings(env: NodeJS.ProcessEnv = process.env): ApiSettings {
  const url = env.TANDEM_URL?.replace(/\/$/, '');
  const token = env.TANDEM_TOKEN;
  // Fails at once, never waits: JupyterLab's identity comes over the shell channel, which the running cell holds.
  if (!token) throw new TandemApiError('UNAUTHENTICATED', `not signed in: ${SIGN_IN}; headless runs set TANDEM_URL and TANDEM_TOKEN`, 0);
  if (!url) {
    throw new TandemApiError('UNAVAILABLE', 'TANDEM_URL is not set: start Jupyter with `npm start`, or set TANDEM_URL and TANDEM_TOKEN', 0);
  }
  return { url, token };
}

const SIGN_IN = 'sign in to Tandem in JupyterLab (the status bar), then run the cell again';

export interface RequestOptions extends ApiRequestInit {
  /** Return the raw Response (streams, downloads) instead of parsed JSON. */
  raw?: boolean;
}

/** Calls `/tandem/api/<path>`; failures become TandemApiError with the server's code and message. */
export async function request<T>(path: string, options: RequestOptions = {}, settings = apiSettings()): Promise<T> {
  const { raw, ...init } = options;
  try {
    if (raw) return (await apiFetch(settings, path, init)) as T;
    return await apiRequest<T>(settings, path, init);
  } catch (error) {
    // JupyterLab's token ends with the person's session: a sign-out elsewhere, an expiry.
    if (error instanceof TandemApiError && error.status === 401 && identityFromJupyterLab()) {
      throw new TandemApiError('UNAUTHENTICATED', `your Tandem session has ended: ${SIGN_IN}`, 401, { cause: error });
    }
    throw error;
  }
}
