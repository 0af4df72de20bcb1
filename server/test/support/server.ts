import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { FeatureFactory } from '../../src/context.js';
import { startServer, type TandemServer } from '../../src/server.js';
import { createPostgresDatabase } from './backends.js';

export interface TestServerOptions {
  /** Real PostgreSQL (default: a fresh database on the test run's server) or embedded PGlite. */
  db?: 'pglite' | 'postgres';
  store?: 'folder' | 'minio';
  env?: Record<string, string>;
  features?: FeatureFactory[];
}

export interface TestServer extends TandemServer {
  /** Calls the API as `token` (default: the admin); JSON in, JSON out. */
  api(
    method: string,
    apiPath: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any }>;
  /** Creates a user and returns their token. */
  user(name: string): Promise<{ id: string; token: string }>;
  stop(): Promise<void>;
}

/**
 * A real server on a port the OS assigns, with its own home folder and a fresh database: real
 * PostgreSQL unless `db: 'pglite'` (PGlite's own coverage: describeEachDb store tests and
 * test/embedded.test.ts).
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'tandem-home-'));
  const pgdb = (options.db ?? 'postgres') === 'postgres' ? await createPostgresDatabase() : undefined;
  const s3 = options.store === 'minio' ? inject('s3') : {};
  const config = loadConfig({
    TANDEM_HOME: home,
    TANDEM_PORT: '0',
    TANDEM_LOG_LEVEL: 'warn',
    ...(pgdb ? { TANDEM_DATABASE_URL: pgdb.url } : {}),
    ...s3,
    ...(options.store === 'minio'
      ? {
          TANDEM_S3_BUCKET: `t-${path
            .basename(home)
            .toLowerCase()
            .replace(/[^a-z0-9]/g, '')}`,
        }
      : {}),
    ...options.env,
  });
  const server = await startServer({ config, features: options.features }).catch(async (error: unknown) => {
    await pgdb?.drop();
    await rm(home, { recursive: true, force: true });
    throw error;
  });
  const api: TestServer['api'] = async (method, apiPath, { token, body, headers } = {}) => {
    const auth: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token ?? server.adminToken}` };
    const res = await fetch(`${server.url}${apiPath.startsWith('/') ? '' : '/tandem/api/'}${apiPath}`, {
      method,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // non-JSON answers (metrics, pages) are returned as text
    }
    return { status: res.status, body: parsed };
  };
  return Object.assign(server, {
    api,
    async user(name: string) {
      const res = await api('POST', 'users', { body: { name } });
      if (res.status !== 201) throw new Error(`creating user ${name} failed: ${JSON.stringify(res.body)}`);
      return { id: res.body.user.id as string, token: res.body.token as string };
    },
    async stop() {
      await server.close();
      await pgdb?.drop();
      await rm(home, { recursive: true, force: true });
    },
  });
}
