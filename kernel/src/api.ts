/**
 * The cell SDK's connection to the Tandem server. The kernel inherits TANDEM_URL and TANDEM_TOKEN
 * from the Jupyter server's environment (`npm start` sets them).
 */
export class TandemApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'TandemApiError';
  }
}

export interface ApiSettings {
  url: string;
  token: string;
}

export function apiSettings(env: NodeJS.ProcessEnv = process.env): ApiSettings {
  const url = env.TANDEM_URL?.replace(/\/$/, '');
  if (!url) {
    throw new TandemApiError('UNAVAILABLE', 'TANDEM_URL is not set: start Jupyter with `npm start`, or set TANDEM_URL and TANDEM_TOKEN', 0);
  }
  return { url, token: env.TANDEM_TOKEN ?? '' };
}

export interface RequestOptions extends Omit<RequestInit, 'body'> {
  json?: unknown;
  body?: RequestInit['body'];
  /** Return the raw Response (streams, downloads) instead of parsed JSON. */
  raw?: boolean;
}

/** Calls `/tandem/api/<path>`; failures become TandemApiError with the server's code and message. */
export async function request<T>(path: string, options: RequestOptions = {}, settings = apiSettings()): Promise<T> {
  const { json, raw, headers, ...rest } = options;
  let response: Response;
  try {
    response = await fetch(`${settings.url}/tandem/api/${path.replace(/^\//, '')}`, {
      ...rest,
      headers: {
        authorization: `Bearer ${settings.token}`,
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(headers as Record<string, string> | undefined),
      },
      body: json !== undefined ? JSON.stringify(json) : rest.body,
      ...(rest.body && typeof rest.body === 'object' && 'pipe' in rest.body ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (cause) {
    throw new TandemApiError('UNAVAILABLE', `cannot reach the Tandem server at ${settings.url}: ${String(cause)}`, 0, { cause });
  }
  if (!response.ok) {
    const text = await response.text();
    let error: { code?: string; message?: string } | undefined;
    try {
      error = JSON.parse(text).error;
    } catch {
      error = undefined;
    }
    throw new TandemApiError(
      error?.code ?? 'INTERNAL',
      error?.message ?? `HTTP ${response.status}: ${text.slice(0, 200)}`,
      response.status,
    );
  }
  if (raw) return response as T;
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
