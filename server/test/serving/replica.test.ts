import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReplicaConfig } from '../../src/config.js';
import { startReplica, type RunningReplica } from '../../src/serving/serving.replica.js';
import { AUTHORIZATION_CACHE_MS } from '../../src/serving/serving.remote.js';
import { workerToken } from '../jobs/support.js';
import { envWithoutTandem, listeningUrl, spawnTandem } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploy, eventually, linear, predict, registerOnnx } from './onnx.js';

const ROW = { rows: [{ features: [1, 1, 1] }] };
/** A replica, as onnx.ts's predict() takes a server (the token is always given). */
const at = (url: string) => ({ url, adminToken: '' });

/** A replica in this process, for the token's owner. */
function replicaOf(server: TestServer, token: string, flushMs = 10_000): Promise<RunningReplica> {
  return startReplica({
    ...loadReplicaConfig({ TANDEM_LOG_LEVEL: 'warn' }),
    serverUrl: server.url,
    token,
    port: 0,
    serveLogFlushMs: flushMs,
  });
}

describe('serving replicas (tandem serve --server)', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let prod: { id: string };
  let key: { key: { id: string }; secret: string };
  let replica: RunningReplica;

  beforeAll(async () => {
    server = await startTestServer();
    for (const name of ['owner', 'viewer', 'stranger']) tokens[name] = (await server.user(name)).token;
    await registerOnnx(server, 'scorer', linear([1, 1, 1], 0), { token: tokens.owner });
    await server.api('PUT', 'models/scorer/aliases/prod', { token: tokens.owner, body: { version: 1 } });
    await server.api('PUT', 'models/scorer/grants', { token: tokens.owner, body: { type: 'user', name: 'viewer', role: 'viewer' } });
    prod = await deploy(server, 'owner/scorer', 'prod', { token: tokens.owner, version: 1 });
    key = (await server.api('POST', `deployments/${prod.id}/keys`, { token: tokens.owner, body: { name: 'app' } })).body;
    replica = await replicaOf(server, await workerToken(server, tokens.owner), 200);
  });
  afterAll(async () => {
    await replica?.close();
    await server?.stop();
  });

  it('answers the deployment’s predictions for callers the server authorizes: viewers and the deployment’s key', async () => {
    const { status, body } = await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, tokens.viewer);
    expect({ status, body }).toEqual({ status: 200, body: { predictions: [3], version: 1 } });
    expect((await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, key.secret)).body.predictions).toEqual([3]);
    const ready = await fetch(`${replica.url}/tandem/serve/owner%2Fscorer/prod/ready`, {
      headers: { authorization: `Bearer ${key.secret}` },
    });
    expect(await ready.json()).toEqual({ ready: true, version: 1 });
  });

  it('refuses as the server would: no token 401, a stranger 404, a worker token 403, a bad body 400', async () => {
    expect((await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, null)).status).toBe(401);
    expect((await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, 'tdm_not-a-token')).status).toBe(401);
    expect((await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, tokens.stranger)).status).toBe(404);
    expect((await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, await workerToken(server, tokens.viewer))).status).toBe(403);
    const bad = await predict(at(replica.url), 'owner%2Fscorer/prod/predict', { rows: [{ features: [1] }] }, tokens.viewer);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/features/);
  });

  it('follows an alias move made through the server, without a restart', async () => {
    await registerOnnx(server, 'scorer', linear([1, 1, 1], 10), { token: tokens.owner });
    await server.api('PUT', 'models/scorer/aliases/prod', { token: tokens.owner, body: { version: 2 } });
    const answer = await eventually(async () => {
      const res = await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, tokens.viewer);
      return res.body.version === 2 && res.body;
    });
    expect(answer).toEqual({ predictions: [13], version: 2 });
  });

  it('refuses a revoked key within the time it trusts the server’s answers', async () => {
    expect((await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, key.secret)).status).toBe(200);
    expect((await server.api('DELETE', `deployments/${prod.id}/keys/${key.key.id}`, { token: tokens.owner })).status).toBe(204);
    const revokedAt = Date.now();
    await eventually(async () => (await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, key.secret)).status === 401);
    expect(Date.now() - revokedAt).toBeLessThan(AUTHORIZATION_CACHE_MS + 1_500);
  });

  it('serves nothing its token’s owner cannot view, even to callers who may', async () => {
    const strangers = await replicaOf(server, await workerToken(server, tokens.stranger));
    try {
      expect((await predict(at(strangers.url), 'owner%2Fscorer/prod/predict', ROW, tokens.viewer)).status).toBe(404);
      expect((await predict(at(strangers.url), 'owner%2Fscorer/versions/1/predict', ROW, tokens.viewer)).status).toBe(404);
    } finally {
      await strangers.close();
    }
  });

  it('sends its prediction log to the server, which stores it with the deployment’s other files', async () => {
    await server.api('PATCH', `deployments/${prod.id}`, { token: tokens.owner, body: { logSampleRate: 1 } });
    await eventually(async () => {
      await predict(at(replica.url), 'owner%2Fscorer/prod/predict', ROW, tokens.viewer);
      const files = await server.api('GET', `deployments/${prod.id}/logs`, { token: tokens.owner });
      return files.body.items.length > 0;
    });
  });

  it('the replica API takes worker tokens only, and checks what it is sent', async () => {
    const worker = await workerToken(server, tokens.owner);
    expect((await server.api('GET', 'serving/replica/deployments', { token: tokens.owner })).status).toBe(403);
    const listed = await server.api('GET', 'serving/replica/deployments', { token: worker });
    expect(listed.body.map((d: { id: string }) => d.id)).toEqual([prod.id]);
    expect((await server.api('GET', 'serving/replica/deployments', { token: await workerToken(server, tokens.stranger) })).body).toEqual(
      [],
    );
    const both = await server.api('POST', 'serving/replica/authorize', {
      token: worker,
      body: { token: tokens.viewer, model: 'owner/scorer', alias: 'prod', version: 1 },
    });
    expect(both.status).toBe(400);
    const put = (token: string, logKey: string) =>
      server.api('PUT', `serving/replica/deployments/${prod.id}/logs?key=${encodeURIComponent(logKey)}`, {
        token,
        headers: { 'content-type': 'application/vnd.apache.parquet' },
      });
    const own = `serving-logs/${prod.id}/date=2026-01-01/hour=00/abcd-1-1.parquet`;
    expect((await put(worker, `serving-logs/${prod.id}/../../models/x.parquet`)).status).toBe(400);
    expect((await put(worker, own.replace(prod.id, '00000000-0000-4000-8000-000000000000'))).status).toBe(403);
    // Viewers' replicas serve, but do not write into the log, which only editors read.
    expect((await put(await workerToken(server, tokens.viewer), own)).status).toBe(403);
  });

  it('the replica API gives a stranger’s worker token none of the owner’s models, and refuses a revoked worker token', async () => {
    const { modelId } = (await server.api('GET', `deployments/${prod.id}`, { token: tokens.owner })).body;
    const strangers = await workerToken(server, tokens.stranger);
    expect((await server.api('GET', `serving/replica/deployments/${prod.id}`, { token: strangers })).status).toBe(404);
    expect((await server.api('GET', `serving/replica/models/${modelId}/versions/1`, { token: strangers })).status).toBe(404);
    expect((await server.api('GET', `serving/replica/models/${modelId}/versions/1/model`, { token: strangers })).status).toBe(404);
    const created = await server.api('POST', 'tokens', { token: tokens.owner, body: { name: 'old replica', kind: 'worker' } });
    expect((await server.api('GET', `serving/replica/models/${modelId}/versions/1`, { token: created.body.token })).status).toBe(200);
    expect((await server.api('DELETE', `tokens/${created.body.id}`, { token: tokens.owner })).status).toBe(204);
    for (const path of ['serving/replica/deployments', `serving/replica/models/${modelId}/versions/1/model`])
      expect((await server.api('GET', path, { token: created.body.token })).status, path).toBe(401);
    const authorize = await server.api('POST', 'serving/replica/authorize', {
      token: created.body.token,
      body: { token: tokens.viewer, model: 'owner/scorer', alias: 'prod' },
    });
    expect(authorize.status).toBe(401);
  });
});

/** `tandem serve --server` as its own process, so that a test can kill -9 it. */
async function replicaProcess(server: TestServer, token: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnTandem(['serve', '--server', server.url, '--port', '0'], {
    ...envWithoutTandem(),
    TANDEM_WORKER_TOKEN: token,
    TANDEM_LOG_LEVEL: 'warn',
  });
  return { url: await listeningUrl(child, /Tandem serving replica at (http:\/\/\S+)/, 'the replica'), child };
}

describe('two replica processes behind a load balancer', () => {
  let server: TestServer;
  let replicas: { url: string; child: ChildProcess }[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    await registerOnnx(server, 'scorer', linear([1, 1, 1], 0));
    await server.api('PUT', 'models/scorer/aliases/prod', { body: { version: 1 } });
    await deploy(server, 'scorer', 'prod', { version: 1 });
    const token = await workerToken(server);
    replicas = await Promise.all([replicaProcess(server, token), replicaProcess(server, token)]);
    for (const { url } of replicas)
      await eventually(async () => (await predict(at(url), 'scorer/prod/predict', ROW, server.adminToken)).status === 200, 30_000);
  }, 180_000);
  afterAll(async () => {
    for (const { child } of replicas) child.kill('SIGKILL');
    await server?.stop();
  });

  it('kill -9 of one under load loses only the requests that replica had in flight', async () => {
    const LOOPS_PER_REPLICA = 4;
    const counts = replicas.map(() => ({ ok: 0, failed: 0 }));
    let running = true;
    // Each loop sends one request at a time to its replica, as a load balancer's connection would;
    // a loop whose replica is gone stops at its first failure (the balancer takes it out).
    const loop = async (index: number) => {
      while (running) {
        try {
          const res = await predict(at(replicas[index]!.url), 'scorer/prod/predict', ROW, server.adminToken);
          if (res.status !== 200) throw new Error(`status ${res.status}`);
          counts[index]!.ok++;
        } catch {
          counts[index]!.failed++;
          return;
        }
      }
    };
    const loops = replicas.flatMap((_, index) => Array.from({ length: LOOPS_PER_REPLICA }, () => loop(index)));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = counts[0]!.ok;
    replicas[0]!.child.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    running = false;
    await Promise.all(loops);
    expect(before).toBeGreaterThan(0);
    expect(counts[0]!.failed).toBeLessThanOrEqual(LOOPS_PER_REPLICA);
    expect(counts[1]).toMatchObject({ failed: 0 });
    expect(counts[1]!.ok).toBeGreaterThan(before);
  }, 60_000);
});
