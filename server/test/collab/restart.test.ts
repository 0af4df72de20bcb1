import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startServer, type TandemServer } from '../../src/server.js';
import { createPostgresDatabase } from '../support/backends.js';
import { connect, forwarder, synced, until, type Client, type Forwarder } from './support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const db of ['pglite', 'postgres'] as const) {
  describe(`a server restart during editing [${db}]`, () => {
    let home: string;
    let databaseUrl: { url: string; drop(): Promise<void> } | undefined;
    let server: TandemServer | undefined;
    /** The clients' one address; each (re)start of the server gets a port from the OS. */
    let front: Forwarder;

    const start = async () => {
      server = await startServer({
        config: loadConfig({
          TANDEM_HOME: home,
          TANDEM_PORT: '0',
          TANDEM_LOG_LEVEL: 'error',
          ...(databaseUrl ? { TANDEM_DATABASE_URL: databaseUrl.url } : {}),
        }),
      });
      front.target(server.url);
    };
    const stop = async () => {
      front.target(undefined);
      await server?.close();
      server = undefined;
    };

    beforeAll(async () => {
      home = await mkdtemp(path.join(os.tmpdir(), 'tandem-collab-restart-'));
      databaseUrl = db === 'postgres' ? await createPostgresDatabase() : undefined;
      front = await forwarder();
      await start();
    });
    afterAll(async () => {
      await stop();
      await front.close();
      await databaseUrl?.drop();
      await rm(home, { recursive: true, force: true });
    });

    it('loses no edit and duplicates no cell while clients keep typing through the restart', async () => {
      const created = await fetch(`${server!.url}/tandem/api/notebooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server!.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'restart.ipynb' }),
      });
      const { id } = (await created.json()) as { id: string };
      const token = server!.adminToken;
      const a: Client = await synced(connect(front.url, id, token));
      const b: Client = await synced(connect(front.url, id, token));

      // a types at the end, b at the start: each client's text is all its keys in order.
      const typed = { a: 0, b: 0 };
      const offline = { a: 0, b: 0 };
      const count = (client: Client, key: 'a' | 'b') => client.source().toString().split(key).length - 1;
      const press = (client: Client, key: 'a' | 'b') => {
        client.source().insert(key === 'a' ? client.source().length : 0, key);
        typed[key] += 1;
        if (!client.provider.wsconnected) offline[key] += 1;
      };
      /** Both clients keep typing until `done` holds, and at least `min` keys each. */
      const typeUntil = async (done: () => boolean, min: number, what: string) => {
        const deadline = Date.now() + 30_000;
        for (let n = 0; n < min || !done(); n++) {
          if (Date.now() > deadline) throw new Error(`typing: timed out waiting for ${what}`);
          press(a, 'a');
          press(b, 'b');
          await sleep(3);
        }
      };
      const both = (check: (client: Client) => boolean) => () => check(a) && check(b);

      // Before: each client sees all the other typed, so the server has it.
      await typeUntil(() => true, 30, '');
      await until(() => count(a, 'b') === typed.b && count(b, 'a') === typed.a, 15_000, 'the edits before the restart');

      // Typing goes on while the server shuts down, until both clients have lost it, and while it is down.
      let stopped = false;
      const stopping = stop().then(() => (stopped = true));
      await typeUntil(() => stopped && both((c) => !c.provider.wsconnected)(), 0, 'the server to stop');
      await stopping;
      await typeUntil(() => true, 30, '');
      expect(offline.a).toBeGreaterThanOrEqual(30);
      expect(offline.b).toBeGreaterThanOrEqual(30);

      // Typing goes on while the server starts and the clients reconnect, and after.
      let started = false;
      const starting = start().then(() => (started = true));
      await typeUntil(() => started && both((c) => c.provider.synced)(), 0, 'both clients to reconnect');
      await starting;
      await typeUntil(() => true, 30, '');

      await until(
        () => a.source().toString() === b.source().toString() && count(a, 'a') === typed.a && count(a, 'b') === typed.b,
        15_000,
        'convergence on every key typed',
      ).catch((error: Error) => {
        const seen = (c: Client) => `${count(c, 'a')} a and ${count(c, 'b')} b`;
        throw new Error(`${error.message}: typed ${typed.a} a and ${typed.b} b; client a has ${seen(a)}, client b has ${seen(b)}`);
      });
      a.destroy();
      b.destroy();

      // A fresh client after a second restart sees exactly what was typed, from the database alone.
      await stop();
      await start();
      const fresh = await synced(connect(front.url, id, token));
      const text = fresh.source().toString();
      expect(fresh.cells.length).toBe(1);
      expect(typed.a).toBeGreaterThanOrEqual(90); // 30 before, 30 while down, 30 after; more during the stop and the start
      expect(text.replace(/b/g, '')).toBe('a'.repeat(typed.a));
      expect(text.replace(/a/g, '')).toBe('b'.repeat(typed.b));
      fresh.destroy();
    }, 90_000);
  });
}
