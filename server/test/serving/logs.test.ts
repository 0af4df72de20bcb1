import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/store.js';
import type { Logger } from '../../src/logger.js';
import { PredictionLog, type LogEntry } from '../../src/serving/serving.logs.js';
import { describeEachStore } from '../support/backends.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploy, eventually, linear, predict, registerOnnx } from './onnx.js';
import { bytesOf, readParquet } from './parquet.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const entry = (change: Partial<LogEntry> = {}): LogEntry => ({
  split: 'primary',
  version: 3,
  latencyMs: 1.5,
  status: 200,
  error: null,
  body: { rows: [{ age: 41, city: 'Lyon' }] },
  answer: { predictions: [0.25], version: 3 },
  ...change,
});

/** The hour partition a time falls in, as the log names it. */
function partition(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

async function keysOf(store: ArtifactStore, deploymentId: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const file of store.list(`serving-logs/${deploymentId}/`)) keys.push(file.key);
  return keys.sort();
}

async function rowsOf(store: ArtifactStore, key: string) {
  return readParquet(await bytesOf(await store.get(key)));
}

/** Every row of a deployment's log files, oldest file first. */
async function allRows(store: ArtifactStore, deploymentId: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const key of await keysOf(store, deploymentId)) rows.push(...(await rowsOf(store, key)).rows);
  return rows;
}

describeEachStore('the prediction log in the artifact store', (backend) => {
  let store: ArtifactStore & { cleanup(): Promise<void> };

  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(() => store.cleanup());

  it('at sample rate 0 records nothing and writes nothing', async () => {
    const id = randomUUID();
    const log = new PredictionLog(store, quiet);
    for (let i = 0; i < 1000; i++) log.record(id, entry(), 0);
    expect(log.stats().rowsBuffered).toBe(0);
    await log.close();
    expect(await keysOf(store, id)).toEqual([]);
    expect(log.stats()).toMatchObject({ rowsWritten: 0, files: 0, failures: 0 });
  });

  it('at rate 0.25 records about a quarter of requests', async () => {
    const id = randomUUID();
    const log = new PredictionLog(store, quiet, { flushMs: HOUR_MS });
    for (let i = 0; i < 2000; i++) log.record(id, entry(), 0.25);
    // 500 expected; the bounds are about six standard deviations (sd ≈ 19).
    expect(log.stats().rowsBuffered).toBeGreaterThan(385);
    expect(log.stats().rowsBuffered).toBeLessThan(615);
    await log.close();
  });

  it('at rate 1 writes every request into its UTC hour’s partition, with typed columns DuckDB reads', async () => {
    const id = randomUUID();
    const log = new PredictionLog(store, quiet);
    const before = Date.now();
    log.record(id, entry(), 1);
    log.record(
      id,
      entry({
        split: 'canary',
        version: 4,
        latencyMs: 2.25,
        body: { rows: [{ age: 30, city: 'Nice' }] },
        answer: { predictions: [0.5], version: 4 },
      }),
      1,
    );
    await log.close();
    const after = Date.now();
    const keys = await keysOf(store, id);
    expect(keys).toHaveLength(1);
    const { rows, types } = await rowsOf(store, keys[0]!);
    expect(types).toEqual({
      _ts: 'TIMESTAMP',
      _version: 'INTEGER',
      _split: 'VARCHAR',
      _latency_ms: 'DOUBLE',
      _status: 'INTEGER',
      _error: 'VARCHAR',
      age: 'DOUBLE',
      city: 'VARCHAR',
      _prediction: 'DOUBLE',
    });
    expect(rows.map(({ _ts, ...rest }) => rest)).toEqual([
      { _version: 3, _split: 'primary', _latency_ms: 1.5, _status: 200, _error: null, age: 41, city: 'Lyon', _prediction: 0.25 },
      { _version: 4, _split: 'canary', _latency_ms: 2.25, _status: 200, _error: null, age: 30, city: 'Nice', _prediction: 0.5 },
    ]);
    const ts = (rows[0]!._ts as Date).getTime();
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
    expect(keys[0]).toMatch(new RegExp(`^serving-logs/${id}/${partition(ts)}/[0-9a-f]+-\\d+-\\d+\\.parquet$`));
    expect(log.stats()).toMatchObject({ rowsWritten: 2, files: 1, rowsBuffered: 0 });
  });

  it('logs a batch of n rows as n rows sharing the request’s metadata; arrays and objects are JSON text', async () => {
    const id = randomUUID();
    const log = new PredictionLog(store, quiet);
    log.record(
      id,
      entry({
        latencyMs: 7,
        body: {
          columns: {
            features: [
              [1, 2, 3],
              [4, 5, 6],
              [7, 8, 9],
            ],
            id: ['a', 'b', 'c'],
          },
        },
        answer: {
          predictions: [
            { score: 1, label: 0 },
            { score: 2, label: 1 },
            { score: 3, label: 1 },
          ],
          version: 3,
        },
      }),
      1,
    );
    // Fields one row lacks are null there.
    log.record(id, entry({ body: { rows: [{ flag: true }, { other: 'x' }] }, answer: { predictions: [[1, 2], [3]], version: 3 } }), 1);
    await log.close();
    const [key] = await keysOf(store, id);
    const { rows, types } = await rowsOf(store, key!);
    expect(types).toMatchObject({ features: 'VARCHAR', id: 'VARCHAR', flag: 'BOOLEAN', other: 'VARCHAR', _prediction: 'VARCHAR' });
    expect(rows.map((r) => [r.features, r.id, r.flag, r.other, r._prediction, r._latency_ms, r._version])).toEqual([
      ['[1,2,3]', 'a', null, null, '{"score":1,"label":0}', 7, 3],
      ['[4,5,6]', 'b', null, null, '{"score":2,"label":1}', 7, 3],
      ['[7,8,9]', 'c', null, null, '{"score":3,"label":1}', 7, 3],
      [null, null, true, null, '[1,2]', 1.5, 3],
      [null, null, null, 'x', '[3]', 1.5, 3],
    ]);
  });

  it('logs failed requests with their status and error, and no prediction', async () => {
    const id = randomUUID();
    const log = new PredictionLog(store, quiet);
    const message = 'input age: expected a number, got "old"';
    log.record(id, entry({ status: 400, error: message, body: { rows: [{ age: 'old' }, { age: 'older' }] }, answer: undefined }), 1);
    log.record(id, entry({ status: 503, error: 'no version is loaded', version: null, body: { rows: [] }, answer: undefined }), 1);
    await log.close();
    const rows = await allRows(store, id);
    expect(rows.map((r) => [r._status, r._error, r._version, r.age, r._prediction])).toEqual([
      [400, message, 3, 'old', null],
      [400, message, 3, 'older', null],
      [503, 'no version is loaded', null, null, null],
    ]);
  });

  it('writes a file once a deployment has maxRows rows, and on close whatever the timer has not written yet', async () => {
    const id = randomUUID();
    const log = new PredictionLog(store, quiet, { maxRows: 10, flushMs: HOUR_MS });
    for (let i = 0; i < 25; i++) log.record(id, entry({ body: { rows: [{ i }] } }), 1);
    await eventually(async () => log.stats().files === 2);
    expect(log.stats()).toMatchObject({ rowsWritten: 20, rowsBuffered: 5 });
    await log.close();
    expect(await keysOf(store, id)).toHaveLength(3);
    expect((await allRows(store, id)).map((r) => r.i).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
  });

  it('writes on its timer', async () => {
    const id = randomUUID();
    const log = new PredictionLog(store, quiet, { flushMs: 50 });
    log.record(id, entry(), 1);
    await eventually(async () => (await keysOf(store, id)).length === 1);
    await log.close();
  });

  it('sweep deletes the hour partitions that ended more than retentionDays ago, and nothing else', async () => {
    const id = randomUUID();
    const now = Date.now();
    const put = (key: string) => store.put(key, Readable.from([Buffer.from('x')]));
    const old = `serving-logs/${id}/${partition(now - 40 * DAY_MS)}/abcd0123-1-1.parquet`;
    const recent = `serving-logs/${id}/${partition(now - 29 * DAY_MS)}/abcd0123-2-2.parquet`;
    const current = `serving-logs/${id}/${partition(now)}/abcd0123-3-3.parquet`;
    const other = `serving-logs/${id}/notes.txt`;
    for (const key of [old, recent, current, other]) await put(key);
    const log = new PredictionLog(store, quiet);
    expect(await log.sweep(id, 30)).toBe(1);
    expect(await keysOf(store, id)).toEqual([recent, current, other].sort());
    expect(await log.sweep(id, 1)).toBe(1);
    expect(await keysOf(store, id)).toEqual([current, other].sort());
    await log.close();
  });

  it('forget drops what is buffered and deletes the deployment’s files', async () => {
    const id = randomUUID();
    const log = new PredictionLog(store, quiet, { flushMs: HOUR_MS });
    log.record(id, entry(), 1);
    await log.close();
    expect(await keysOf(store, id)).toHaveLength(1);
    const again = new PredictionLog(store, quiet, { flushMs: HOUR_MS });
    again.record(id, entry(), 1);
    again.forget(id);
    await again.close();
    expect(await keysOf(store, id)).toEqual([]);
  });

  it('a failed write is logged and counted, never thrown', async () => {
    const id = randomUUID();
    const warnings: string[] = [];
    const failing: ArtifactStore = { ...store, put: () => Promise.reject(new Error('disk full')) };
    const log = new PredictionLog(failing, { ...quiet, warn: (msg, fields) => warnings.push(`${msg}: ${String(fields?.error)}`) });
    log.record(id, entry(), 1);
    await log.close();
    expect(log.stats()).toMatchObject({ failures: 1, files: 0, rowsWritten: 0 });
    expect(warnings).toEqual(['writing a prediction log file failed: Error: disk full']);
  });
});

describe('prediction logging of a deployment', () => {
  let server: TestServer;
  let logged: { id: string };
  let unlogged: { id: string };

  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_SERVE_LOG_FLUSH_SECONDS: '0.1' } });
    await registerOnnx(server, 'scorer', linear([1, 2, 3], 0.5));
    await registerOnnx(server, 'scorer', linear([0, 0, 0], 9));
    for (const alias of ['prod', 'quiet']) await server.api('PUT', `models/scorer/aliases/${alias}`, { body: { version: 1 } });
    logged = await deploy(server, 'scorer', 'prod', { version: 1, settings: { logSampleRate: 1 } });
    unlogged = await deploy(server, 'scorer', 'quiet', { version: 1 });
  });
  afterAll(() => server.stop());

  const store = () => server.ctx.artifacts;
  const rowsWhere = (id: string, check: (rows: Record<string, unknown>[]) => boolean) =>
    eventually(async () => {
      const rows = await allRows(store(), id);
      return check(rows) && rows;
    });

  it('logs each row of a batch with the version, split, status and latency; rate 0 logs nothing', async () => {
    const features = [
      [1, 1, 1],
      [0, 0, 2],
      [1, 0, 0],
    ];
    expect((await predict(server, 'scorer/prod/predict', { rows: features.map((f) => ({ features: f })) })).body.predictions).toEqual([
      6.5, 6.5, 1.5,
    ]);
    expect((await predict(server, 'scorer/quiet/predict', { rows: [{ features: [1, 1, 1] }] })).status).toBe(200);
    const rows = await rowsWhere(logged.id, (r) => r.length === 3);
    expect(rows.map((r) => [r.features, r._prediction, r._version, r._split, r._status, r._error])).toEqual([
      ['[1,1,1]', 6.5, 1, 'primary', 200, null],
      ['[0,0,2]', 6.5, 1, 'primary', 200, null],
      ['[1,0,0]', 1.5, 1, 'primary', 200, null],
    ]);
    expect(rows[0]!._latency_ms).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => (r._ts as Date).getTime())).size).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await keysOf(store(), unlogged.id)).toEqual([]);
  });

  it('logs refused predictions with their HTTP status and error', async () => {
    const refused = await predict(server, 'scorer/prod/predict', { rows: [{ features: [1, 2] }] });
    expect(refused.status).toBe(400);
    const rows = await rowsWhere(logged.id, (r) => r.some((row) => row._status === 400));
    const row = rows.find((r) => r._status === 400)!;
    expect(row).toMatchObject({ _version: 1, _split: 'primary', features: '[1,2]', _prediction: null, _error: refused.body.error.message });
  });

  it('labels a shadow’s rows with their split and version', async () => {
    await server.api('PATCH', `deployments/${logged.id}`, { body: { shadow: { version: 2, percent: 100 } } });
    await eventually(async () => (await server.api('GET', `deployments/${logged.id}`)).body.splitStatus?.shadow?.servedVersion === 2);
    expect((await predict(server, 'scorer/prod/predict', { rows: [{ features: [1, 1, 1] }] })).body.version).toBe(1);
    const rows = await rowsWhere(logged.id, (r) => r.some((row) => row._split === 'shadow'));
    expect(rows.find((r) => r._split === 'shadow')).toMatchObject({ _version: 2, _prediction: 9, _status: 200 });
  });

  it('deleting the deployment deletes its log', async () => {
    expect((await keysOf(store(), logged.id)).length).toBeGreaterThan(0);
    expect((await server.api('DELETE', `deployments/${logged.id}`)).status).toBe(204);
    await eventually(async () => (await keysOf(store(), logged.id)).length === 0);
  });
});
