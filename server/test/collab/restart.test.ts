import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startServer, type TandemServer } from '../../src/server.js';
import { createPostgresDatabase } from '../support/backends.js';
import { connect, synced, until, type Client } from './support.js';

for (const db of ['pglite', 'postgres'] as const) {
  describe(`a server restart during editing [${db}]`, () => {
    let home: string;
    let databaseUrl: { url: string; drop(): Promise<void> } | undefined;
    let server: TandemServer;

    const start = (port: number) =>
      startServer({
        config: loadConfig({
          TANDEM_HOME: home,
          TANDEM_PORT: String(port),
          TANDEM_LOG_LEVEL: 'error',
          ...(databaseUrl ? { TANDEM_DATABASE_URL: databaseUrl.url } : {}),
        }),
      });

    beforeAll(async () => {
      home = await mkdtemp(path.join(os.tmpdir(), 'tandem-collab-restart-'));
      databaseUrl = db === 'postgres' ? await createPostgresDatabase() : undefined;
      server = await start(0);
    });
    afterAll(async () => {
      await server.close();
      await databaseUrl?.drop();
      await rm(home, { recursive: true, force: true });
    });

    it('loses no edit and duplicates no cell while clients keep typing through the restart', async () => {
      const created = await fetch(`${server.url}/tandem/api/notebooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'restart.ipynb' }),
      });
      const { id } = (await created.json()) as { id: string };
      const port = Number(new URL(server.url).port);
      const a: Client = await synced(connect(server.url, id, server.adminToken));
      const b: Client = await synced(connect(server.url, id, server.adminToken));

      const typed = { a: 0, b: 0 };
      const type = async (client: Client, key: 'a' | 'b', count: number) => {
        for (let i = 0; i < count; i++) {
          client.source().insert(key === 'a' ? client.source().length : 0, key);
          typed[key] += 1;
          await new Promise((r) => setTimeout(r, 3));
        }
      };
      const typing = Promise.all([type(a, 'a', 150), type(b, 'b', 150)]);
      await new Promise((r) => setTimeout(r, 150));
      await server.close();
      await new Promise((r) => setTimeout(r, 200));
      server = await start(port);
      await typing;

      await until(() => a.provider.synced && b.provider.synced, 15_000, 'both clients to reconnect');
      await until(() => a.source().toString() === b.source().toString() && a.source().length === 300, 15_000, 'convergence');
      a.destroy();
      b.destroy();

      // A fresh client after a second restart sees exactly what was typed, from the database alone.
      await server.close();
      server = await start(port);
      const fresh = await synced(connect(server.url, id, server.adminToken));
      const text = fresh.source().toString();
      expect(fresh.cells.length).toBe(1);
      expect(text.replace(/b/g, '')).toBe('a'.repeat(150));
      expect(text.replace(/a/g, '')).toBe('b'.repeat(150));
      fresh.destroy();
    });
  });
}
