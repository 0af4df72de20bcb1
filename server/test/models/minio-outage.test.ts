import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper shared with the root scripts
import { startMinio } from '../../../scripts/lib/services.mjs';
import { startTestServer, type TestServer } from '../support/server.js';

/** Streams `chunks` of 1 MiB slowly, calling `midway` after the third; resolves with `<status> <error code>` or the socket error. */
function slowUpload(server: TestServer, apiPath: string, chunks: number, midway: () => Promise<void>): Promise<string> {
  const url = new URL(`${server.url}/tandem/api/${apiPath}`);
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'PUT',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          let code = '';
          try {
            code = (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? '';
          } catch {
            // not JSON
          }
          resolve(`${res.statusCode} ${code}`);
        });
        res.on('error', (error) => resolve((error as NodeJS.ErrnoException).code ?? String(error)));
      },
    );
    req.on('error', (error) => resolve((error as NodeJS.ErrnoException).code ?? String(error)));
    void (async () => {
      for (let i = 0; i < chunks && !req.destroyed; i++) {
        req.write(Buffer.alloc(1024 * 1024, i));
        await new Promise((r) => setTimeout(r, 50));
        if (i === 2) await midway();
      }
      req.end();
    })();
  });
}

describe('MinIO stopped mid-upload', () => {
  let minio: { env: Record<string, string>; stop(): Promise<void> };
  let dir: string;
  let server: TestServer;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-minio-outage-'));
    minio = await startMinio({ dir: path.join(dir, 'data') });
    server = await startTestServer({ env: minio.env });
  }, 90_000);
  afterAll(async () => {
    await server.stop();
    await minio.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails the upload and leaves no visible version', async () => {
    const started = await server.api('POST', 'models/fragile/uploads', { body: { createModel: true } });
    expect(started.status).toBe(201);
    const outcome = await slowUpload(server, `models/fragile/uploads/${started.body.uploadId}/files/model.bin`, 40, () => minio.stop());
    // Either the server answers 503 or it drops the connection it can no longer serve.
    expect(['503 UNAVAILABLE', 'ECONNRESET', 'EPIPE']).toContain(outcome);

    // The failed file was never recorded, so the upload has nothing to commit.
    const commit = await server.api('POST', `models/fragile/uploads/${started.body.uploadId}/commit`);
    expect(commit).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/has no files: upload at least one before committing/) } },
    });
    const versions = await server.api('GET', 'models/fragile/versions');
    expect(versions.body).toMatchObject({ total: 0, items: [] });
    expect((await server.api('GET', 'models/fragile')).body.latestVersion).toBeNull();
    expect((await server.api('GET', 'models?filter=metric.x>0')).body.items).toEqual([]);
    expect((await server.api('DELETE', `models/fragile/uploads/${started.body.uploadId}`)).status).toBe(204);
  });
});
