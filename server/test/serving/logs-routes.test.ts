import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictionLogFile } from '../../src/api/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploy, eventually, linear, predict, registerOnnx } from './onnx.js';
import { readParquet } from './parquet.js';

const ROW = { rows: [{ features: [1, 1, 1] }] };

describe('prediction log settings and files over HTTP', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let prod: { id: string };
  let staging: { id: string };
  let stagingKey: string;

  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_SERVE_LOG_FLUSH_SECONDS: '0.1' } });
    for (const name of ['owner', 'editor', 'viewer', 'stranger']) tokens[name] = (await server.user(name)).token;
    await registerOnnx(server, 'scorer', linear([1, 1, 1], 0), { token: tokens.owner });
    for (const alias of ['prod', 'staging'])
      await server.api('PUT', `models/scorer/aliases/${alias}`, { token: tokens.owner, body: { version: 1 } });
    for (const [name, role] of [
      ['editor', 'editor'],
      ['viewer', 'viewer'],
    ])
      await server.api('PUT', 'models/scorer/grants', { token: tokens.owner, body: { type: 'user', name, role } });
    prod = await deploy(server, 'owner/scorer', 'prod', { token: tokens.owner, version: 1 });
    staging = await deploy(server, 'owner/scorer', 'staging', { token: tokens.owner, version: 1, settings: { logSampleRate: 1 } });
    expect((await predict(server, 'owner%2Fscorer/staging/predict', ROW, tokens.viewer)).status).toBe(200);
    stagingKey = await eventually(async () => {
      const { body } = await server.api('GET', `deployments/${staging.id}/logs`, { token: tokens.owner });
      return body.items?.[0]?.key as string | undefined;
    });
  });
  afterAll(() => server.stop());

  const patch = (body: unknown, token = tokens.editor) => server.api('PATCH', `deployments/${prod.id}`, { token, body });
  const list = (id: string, token: string, query = '') => server.api('GET', `deployments/${id}/logs${query}`, { token });
  const download = (id: string, key: string, token = tokens.editor) =>
    fetch(`${server.url}/tandem/api/deployments/${id}/logs/file?key=${encodeURIComponent(key)}`, {
      headers: { authorization: `Bearer ${token}` },
    });

  it('deployments log nothing and keep 30 days by default; editors change both', async () => {
    const got = await server.api('GET', `deployments/${prod.id}`, { token: tokens.viewer });
    expect(got.body).toMatchObject({ logSampleRate: 0, logRetentionDays: 30 });
    const patched = await patch({ logSampleRate: 0.5, logRetentionDays: 7 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ logSampleRate: 0.5, logRetentionDays: 7, maxBatchSize: 64 });
    expect((await patch({ maxWaitMs: 1 })).body).toMatchObject({ logSampleRate: 0.5, logRetentionDays: 7 });
    expect((await patch({ logSampleRate: 1 }, tokens.viewer)).status).toBe(403);
  });

  it('refuses a sample rate outside 0–1 and a retention outside 1–3650 whole days, naming the field', async () => {
    for (const logSampleRate of [1.5, -0.1, '0.5', null]) {
      const res = await patch({ logSampleRate });
      expect(res.status, JSON.stringify(logSampleRate)).toBe(400);
      expect(res.body.error.message).toMatch(/body\.logSampleRate/);
    }
    for (const logRetentionDays of [0, 3651, 1.5]) {
      const res = await patch({ logRetentionDays });
      expect(res.status, String(logRetentionDays)).toBe(400);
      expect(res.body.error.message).toMatch(/body\.logRetentionDays/);
    }
    const created = await server.api('POST', 'deployments', {
      token: tokens.owner,
      body: { model: 'owner/scorer', alias: 'other', logSampleRate: 2 },
    });
    expect(created.status).toBe(400);
    expect(created.body.error.message).toMatch(/logSampleRate/);
  });

  it('editors list the files, with size and hour, and download one that DuckDB reads', async () => {
    const listed = await list(staging.id, tokens.editor);
    expect(listed.status).toBe(200);
    const file = listed.body.items[0] as PredictionLogFile;
    expect(Object.keys(file).sort()).toEqual(['hour', 'key', 'size']);
    expect(file.key).toMatch(new RegExp(`^serving-logs/${staging.id}/date=\\d{4}-\\d{2}-\\d{2}/hour=\\d{2}/`));
    expect(file.hour).toBe(`${file.key.match(/date=([\d-]+)/)![1]}T${file.key.match(/hour=(\d{2})/)![1]}:00:00.000Z`);
    expect(file.size).toBeGreaterThan(0);
    const res = await download(staging.id, file.key);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.byteLength).toBe(file.size);
    const { rows } = await readParquet(bytes);
    expect(rows[0]).toMatchObject({ features: '[1,1,1]', _prediction: 3, _version: 1, _split: 'primary', _status: 200 });
  });

  it('pages the list, newest first', async () => {
    expect((await predict(server, 'owner%2Fscorer/staging/predict', ROW, tokens.viewer)).status).toBe(200);
    await eventually(async () => (await list(staging.id, tokens.editor)).body.total >= 2);
    const first = await list(staging.id, tokens.editor, '?limit=1');
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextPageToken).toBeDefined();
    const second = await list(staging.id, tokens.editor, `?limit=1&pageToken=${first.body.nextPageToken}`);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.items[0].key < first.body.items[0].key).toBe(true);
  });

  it('viewers are refused (403) and strangers see no deployment (404)', async () => {
    expect((await list(staging.id, tokens.viewer)).status).toBe(403);
    expect((await download(staging.id, stagingKey, tokens.viewer)).status).toBe(403);
    expect((await list(staging.id, tokens.stranger)).status).toBe(404);
    expect((await download(staging.id, stagingKey, tokens.stranger)).status).toBe(404);
  });

  it('an editor’s worker token is refused (403), and so is a revoked token of theirs (401)', async () => {
    const worker = await server.api('POST', 'tokens', { token: tokens.editor, body: { name: 'agent', kind: 'worker' } });
    expect((await list(staging.id, worker.body.token)).status).toBe(403);
    expect((await download(staging.id, stagingKey, worker.body.token)).status).toBe(403);
    const spare = await server.api('POST', 'tokens', { token: tokens.editor, body: { name: 'spare' } });
    expect((await list(staging.id, spare.body.token)).status).toBe(200);
    expect((await server.api('DELETE', `tokens/${spare.body.id}`, { token: tokens.editor })).status).toBe(204);
    expect((await list(staging.id, spare.body.token)).status).toBe(401);
    expect((await download(staging.id, stagingKey, spare.body.token)).status).toBe(401);
  });

  it('reads only the deployment’s own log files: traversal, absolute and foreign keys are refused', async () => {
    const hourDir = stagingKey.slice(0, stagingKey.lastIndexOf('/'));
    const modelsKey = 'models/anything/model.onnx';
    for (const key of [
      '../../token',
      '/etc/passwd',
      `${hourDir}/../../../../${modelsKey}`,
      `serving-logs/${prod.id}/../${staging.id}/${stagingKey.split('/').slice(2).join('/')}`,
      `${stagingKey}/..`,
      `./${stagingKey}`,
      `${hourDir}\\..\\x.parquet`,
      stagingKey.replace('.parquet', '.onnx'),
      modelsKey,
      `serving-logs/${prod.id}`,
    ]) {
      const res = await download(prod.id, key);
      expect(res.status, key).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/query\.key/);
    }
    // Well-formed keys of another deployment, or of none, are not found.
    expect((await download(prod.id, stagingKey)).status).toBe(404);
    expect((await download(prod.id, `serving-logs/${prod.id}/date=2020-01-01/hour=00/abcd-1-1.parquet`)).status).toBe(404);
    const res = await fetch(`${server.url}/tandem/api/deployments/${prod.id}/logs/file`, {
      headers: { authorization: `Bearer ${tokens.editor}` },
    });
    expect(res.status).toBe(400);
  });
});
