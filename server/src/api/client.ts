import type { ErrorBody, ErrorCode } from './common.js';

/**
 * The one HTTP client of the Tandem API, used by the kernel, the extension and the worker agent.
 * It runs in Node and in browsers (only `fetch`), so it must not import Node modules.
 */

/** The server's codes, plus NETWORK when no answer came back. */
export type ClientErrorCode = ErrorCode | 'NETWORK';

/** Every failed Tandem request becomes one of these; `code` is what callers switch on. */
export class TandemApiError extends Error {
  readonly details?: unknown;

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** HTTP status, 0 when the server could not be reached. */
    readonly status: number,
    options: { cause?: unknown; details?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'TandemApiError';
    this.details = options.details;
  }
}

export interface ApiSettings {
  /** Base URL of the Tandem server, e.g. http://127.0.0.1:8787 */
  url: string;
  token?: string;
  /** `include` in a browser signed in by the session cookie (another origin than the server's). */
  credentials?: RequestInit['credentials'];
  /** The session's CSRF token: cookie-authenticated writes must send it. */
  csrfToken?: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ApiRequestInit extends Omit<RequestInit, 'body'> {
  /** Sent as a JSON body. */
  json?: unknown;
  body?: RequestInit['body'];
}

/** Calls `/tandem/api/<path>` and answers the raw Response; any failure becomes a TandemApiError. */
export async function apiFetch(settings: ApiSettings, path: string, init: ApiRequestInit = {}): Promise<Response> {
  const { json, headers, body, ...rest } = init;
  const base = settings.url.replace(/\/$/, '');
  if (!base) throw new TandemApiError('UNAVAILABLE', 'the Tandem server URL is not configured', 0);
  let response: Response;
  try {
    response = await fetch(`${base}/tandem/api/${path.replace(/^\//, '')}`, {
      ...rest,
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      headers: {
        ...(settings.token ? { authorization: `Bearer ${settings.token}` } : {}),
        ...(settings.csrfToken && !SAFE_METHODS.has((rest.method ?? 'GET').toUpperCase()) ? { 'x-csrf-token': settings.csrfToken } : {}),
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(headers as Record<string, string> | undefined),
      },
      body: json !== undefined ? JSON.stringify(json) : body,
      // Node's fetch streams a request body only when told so.
      ...(body && typeof body === 'object' && 'pipe' in body ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (cause) {
    throw new TandemApiError('NETWORK', `cannot reach the Tandem server at ${base}: ${messageOf(cause)}`, 0, { cause });
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** Calls `/tandem/api/<path>` and answers its parsed JSON (undefined for 204). */
export async function apiRequest<T>(settings: ApiSettings, path: string, init: ApiRequestInit = {}): Promise<T> {
  const response = await apiFetch(settings, path, init);
  if (response.status === 204) return undefined as T;
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    throw new TandemApiError('NETWORK', `the connection to the Tandem server broke off: ${messageOf(cause)}`, response.status, { cause });
  }
  try {
    return (text ? JSON.parse(text) : undefined) as T;
  } catch (cause) {
    throw new TandemApiError('INTERNAL', `the Tandem server answered something that is not JSON: ${text.slice(0, 200)}`, response.status, {
      cause,
    });
  }
}

/** The TandemApiError a failed response stands for, with the server's code and message. */
export async function errorOf(response: Response): Promise<TandemApiError> {
  const text = await response.text().catch(() => '');
  let error: Partial<ErrorBody['error']> | undefined;
  try {
    error = (JSON.parse(text) as Partial<ErrorBody>).error;
  } catch {
    error = undefined;
  }
  return new TandemApiError(
    error?.code ?? 'INTERNAL',
    error?.message ?? (text ? `HTTP ${response.status}: ${text.slice(0, 200)}` : `HTTP ${response.status}`),
    response.status,
    {
      details: error?.details,
    },
  );
}

function messageOf(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error instanceof Error ? error.message : String(error)}${cause}`;
}
