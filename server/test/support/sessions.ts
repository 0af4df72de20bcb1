import type { TestServer } from './server.js';

export interface SignInResult {
  status: number;
  body: any;
  /** `tandem_session=<id>`, ready for a Cookie header, when one was set. */
  cookie?: string;
  /** The whole Set-Cookie line of the session cookie. */
  setCookie?: string;
  headers: Headers;
  ms: number;
}

/** `POST /tandem/api/sessions` as a browser-less client; `from` sets X-Forwarded-For (the server trusts its loopback proxy). */
export async function signIn(
  server: TestServer,
  name: string,
  password: string,
  options: { from?: string; headers?: Record<string, string> } = {},
): Promise<SignInResult> {
  const started = performance.now();
  const res = await fetch(`${server.url}/tandem/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.from ? { 'x-forwarded-for': options.from } : {}), ...options.headers },
    body: JSON.stringify({ name, password }),
  });
  const body = await res.json();
  const ms = performance.now() - started;
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('tandem_session='));
  return { status: res.status, body, cookie: setCookie?.split(';')[0], setCookie, headers: res.headers, ms };
}

/** Creates a user with a password (set by the admin) and answers their id and API token. */
export async function userWithPassword(server: TestServer, name: string, password: string): Promise<{ id: string; token: string }> {
  const user = await server.user(name);
  const res = await server.api('PUT', `users/${user.id}/password`, { body: { password } });
  if (res.status !== 204) throw new Error(`setting ${name}'s password failed: ${JSON.stringify(res.body)}`);
  return user;
}

/** Calls the API as a browser holding `cookie` (no Bearer token), with the CSRF header when given. */
export function asBrowser(server: TestServer, cookie: string, csrfToken?: string) {
  return (method: string, apiPath: string, body?: unknown) =>
    server.api(method, apiPath, { token: null, body, headers: { cookie, ...(csrfToken ? { 'x-csrf-token': csrfToken } : {}) } });
}

/** Posts a form as a browser would (urlencoded), without following redirects. */
export function postForm(
  server: TestServer,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
