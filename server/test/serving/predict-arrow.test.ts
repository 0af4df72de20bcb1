import { tableFromArrays, tableFromIPC, tableFromJSON, tableToIPC, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { predict, serveCreditAndPair } from './onnx.js';

const STREAM = 'application/vnd.apache.arrow.stream';
const FILE = 'application/vnd.apache.arrow.file';

describe('predictions in and out as Arrow IPC', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_SERVE_MAX_BODY_BYTES: '20000' } });
    await serveCreditAndPair(server);
  });
  afterAll(() => server.stop());

  const credit = (rows: number) =>
    tableFromArrays({
      age: Float64Array.from({ length: rows }, (_, i) => i + 1),
      income: new Float64Array(rows),
      debt: Float64Array.from({ length: rows }, (_, i) => i % 2),
    });

  it('takes an Arrow stream or file body and answers JSON, as for the same columns in JSON', async () => {
    for (const [type, format] of [
      [STREAM, 'stream'],
      [FILE, 'file'],
    ] as const) {
      const res = await send(server, 'credit/prod/predict', tableToIPC(credit(2), format), { type });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(res.text)).toEqual({ predictions: [1, 102], version: 1 });
    }
  });

  it('feeds list columns and int64 columns to a model with several inputs', async () => {
    const table = tableFromJSON([{ x: [1, 2, 3] }, { x: [0, 0, 1] }]);
    const withCount = tableFromArrays({ count: new BigInt64Array([7n, -2n]) });
    const bytes = tableToIPC(table.assign(withCount));
    const res = await send(server, 'pair/prod/predict', bytes, { type: STREAM });
    expect(JSON.parse(res.text)).toEqual({
      predictions: [
        { total: 6, count_out: 7 },
        { total: 1, count_out: -2 },
      ],
      version: 1,
    });
  });

  it('answers an Arrow stream to a caller that accepts one, with the version in a header, on both predict routes', async () => {
    for (const path of ['credit/prod/predict', 'credit/versions/1/predict']) {
      const res = await send(server, path, tableToIPC(credit(3)), { type: STREAM, accept: STREAM });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(STREAM);
      expect(res.headers.get('tandem-model-version')).toBe('1');
      expect(columnsOf(tableFromIPC(res.bytes))).toEqual({ prediction: [1, 102, 3] });
    }
  });

  it('answers an Arrow stream to a JSON body, one column per output of a model with several', async () => {
    const body = JSON.stringify({ rows: [{ x: [1, 2, 3], count: 7 }] });
    const res = await send(server, 'pair/prod/predict', body, { type: 'application/json', accept: `${STREAM}, application/json;q=0.5` });
    expect(res.headers.get('content-type')).toBe(STREAM);
    expect(res.headers.get('tandem-model-version')).toBe('1');
    expect(columnsOf(tableFromIPC(res.bytes))).toEqual({ total: [6], count_out: [7] });
    // JSON callers still get JSON, without the header.
    const json = await predict(server, 'pair/prod/predict', { rows: [{ x: [1, 2, 3], count: 7 }] });
    expect(json.body).toEqual({ predictions: [{ total: 6, count_out: 7 }], version: 1 });
    expect(json.headers.get('tandem-model-version')).toBeNull();
  });

  it('answers 400 with the reason to a body that is not Arrow IPC, and keeps serving', async () => {
    const res = await send(server, 'credit/prod/predict', '{"columns": {"age": [1]}}', { type: STREAM });
    expect(res.status).toBe(400);
    const { error } = JSON.parse(res.text);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/^the body is not an Arrow IPC stream or file: /);
    expect((await send(server, 'credit/prod/predict', tableToIPC(credit(1)), { type: STREAM })).status).toBe(200);
  });

  it('answers 413 to an Arrow body over the serving limit', async () => {
    const res = await send(server, 'credit/prod/predict', tableToIPC(credit(2000)), { type: STREAM });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses a missing column with a 400 naming the field', async () => {
    const res = await send(server, 'credit/prod/predict', tableToIPC(tableFromArrays({ age: [1], income: [2] })), { type: STREAM });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.message).toMatch(/^columns\.debt: missing field/);
  });

  it('refuses callers without a token or with a worker token, as for JSON', async () => {
    const bytes = tableToIPC(credit(1));
    expect((await send(server, 'credit/prod/predict', bytes, { type: STREAM, accept: STREAM, token: null })).status).toBe(401);
    const worker = await server.api('POST', 'tokens', { body: { name: 'agent', kind: 'worker' } });
    const res = await send(server, 'credit/prod/predict', bytes, { type: STREAM, accept: STREAM, token: worker.body.token });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text).error.code).toBe('FORBIDDEN');
  });
});

/** Posts `body` to a predict route (`path` below /tandem/serve/) with the given content type and Accept. */
async function send(
  server: TestServer,
  path: string,
  body: Uint8Array | string,
  options: { type: string; accept?: string; token?: string | null },
): Promise<{ status: number; headers: Headers; bytes: Uint8Array; text: string }> {
  const token = options.token === undefined ? server.adminToken : options.token;
  const res = await fetch(`${server.url}/tandem/serve/${path}`, {
    method: 'POST',
    headers: {
      'content-type': options.type,
      ...(options.accept ? { accept: options.accept } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, text: Buffer.from(bytes).toString('utf8') };
}

function columnsOf(table: Table): Record<string, unknown[]> {
  return Object.fromEntries(table.schema.fields.map((f) => [f.name, [...table.getChild(f.name)!]]));
}
