import type { TestServer } from '../support/server.js';

/**
 * Registers a version through the HTTP API the way clients do: start (`model` is a name or
 * `owner/name`), stream each file, commit, addressing the model the start answered.
 */
export async function registerOverHttp(
  server: TestServer,
  model: string,
  files: Record<string, Buffer | string>,
  options: { token?: string; metadata?: Record<string, unknown> } = {},
): Promise<{ status: number; body: any }> {
  const started = await server.api('POST', `models/${encodeURIComponent(model)}/uploads`, {
    token: options.token,
    body: { createModel: true, ...options.metadata },
  });
  if (started.status !== 201) return started;
  const uploads = `models/${encodeURIComponent(started.body.model)}/uploads/${started.body.uploadId}`;
  for (const [path, content] of Object.entries(files)) {
    const put = await upload(server, `${uploads}/files/${path}`, content, options.token);
    if (put.status !== 200) return put;
  }
  return server.api('POST', `${uploads}/commit`, { token: options.token });
}

/** PUTs a raw body (what the kernel client and the panel send). */
export async function upload(
  server: TestServer,
  apiPath: string,
  content: Buffer | string,
  token = server.adminToken,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${server.url}/tandem/api/${apiPath}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', ...headers },
    body: typeof content === 'string' ? content : new Uint8Array(content),
  });
  return { status: res.status, body: (await res.json()) as any };
}
