/**
 * Small ONNX models for serving tests, encoded as protobuf here (onnx.proto field numbers), so
 * the tests need no Python and every model is exactly as a test describes it.
 */
import type { TestServer } from '../support/server.js';
import { registerOverHttp } from '../models/support.js';

type Bytes = number[];

const varint = (value: number): Bytes => {
  const out: Bytes = [];
  let n = value;
  while (n > 127) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const key = (field: number, wire: 0 | 2) => varint(field * 8 + wire);
const int = (field: number, n: number): Bytes => [...key(field, 0), ...varint(n)];
const message = (field: number, body: Bytes | Uint8Array): Bytes => [...key(field, 2), ...varint(body.length), ...body];
const text = (field: number, s: string): Bytes => message(field, [...Buffer.from(s, 'utf8')]);

/** onnx.TensorProto.DataType */
export const FLOAT = 1;
export const INT64 = 7;
export const DOUBLE = 11;

type Dim = number | string;

const valueInfo = (name: string, elemType: number, dims: Dim[]): Bytes => [
  ...text(1, name),
  // TypeProto.tensor_type { elem_type, shape { dim { dim_value | dim_param } } }
  ...message(
    2,
    message(1, [
      ...int(1, elemType),
      ...message(
        2,
        dims.flatMap((d) => message(1, typeof d === 'number' ? int(1, d) : text(2, d))),
      ),
    ]),
  ),
];

const floatTensor = (name: string, dims: number[], values: number[]): Bytes => [
  ...dims.flatMap((d) => int(1, d)),
  ...int(2, FLOAT),
  ...text(8, name),
  ...message(9, new Uint8Array(new Float32Array(values).buffer)),
];

const node = (op: string, inputs: string[], outputs: string[]): Bytes => [
  ...inputs.flatMap((i) => text(1, i)),
  ...outputs.flatMap((o) => text(2, o)),
  ...text(4, op),
];

interface Graph {
  nodes: Bytes[];
  initializers?: Bytes[];
  inputs: Bytes[];
  outputs: Bytes[];
}

function model({ nodes, initializers = [], inputs, outputs }: Graph): Buffer {
  const graph = [
    ...nodes.flatMap((n) => message(1, n)),
    ...text(2, 'serving-test'),
    ...initializers.flatMap((t) => message(5, t)),
    ...inputs.flatMap((i) => message(11, i)),
    ...outputs.flatMap((o) => message(12, o)),
  ];
  // ir_version 8, opset 13 of the default domain.
  return Buffer.from([
    ...int(1, 8),
    ...text(2, 'tandem-serving-test'),
    ...message(7, graph),
    ...message(8, [...text(1, ''), ...int(2, 13)]),
  ]);
}

/**
 * `score = features · weights + bias`; input `features` float [N × weights.length] (or as
 * `inputDims` says, e.g. a fixed batch of 1), output `score` [N, 1].
 */
export function linear(weights: number[], bias: number, inputDims: Dim[] = ['N', weights.length]): Buffer {
  return model({
    nodes: [node('MatMul', ['features', 'W'], ['xw']), node('Add', ['xw', 'B'], ['score'])],
    initializers: [floatTensor('W', [weights.length, 1], weights), floatTensor('B', [1], [bias])],
    inputs: [valueInfo('features', FLOAT, inputDims)],
    outputs: [valueInfo('score', FLOAT, [inputDims[0]!, 1])],
  });
}

/**
 * Two inputs and two outputs: `x` float [N, 3] and `count` int64 [N]; `total` = sum of x's row
 * ([N, 1]), and `count` passed through as `count_out` ([N]).
 */
export function twoInputs(): Buffer {
  return model({
    nodes: [node('MatMul', ['x', 'ones'], ['total']), node('Identity', ['count'], ['count_out'])],
    initializers: [floatTensor('ones', [3, 1], [1, 1, 1])],
    inputs: [valueInfo('x', FLOAT, ['N', 3]), valueInfo('count', INT64, ['N'])],
    outputs: [valueInfo('total', FLOAT, ['N', 1]), valueInfo('count_out', INT64, ['N'])],
  });
}

/** Registers `bytes` as a new version of `name` (created on first use) and answers its number and id. */
export async function registerOnnx(
  server: TestServer,
  name: string,
  bytes: Buffer,
  options: { token?: string; signature?: { inputs: { name: string; type: string }[]; outputs: { name: string; type: string }[] } } = {},
): Promise<{ number: number; id: string }> {
  const res = await registerOverHttp(
    server,
    name,
    { 'model.onnx': bytes },
    { token: options.token, metadata: options.signature ? { signature: options.signature } : {} },
  );
  if (res.status !== 201) throw new Error(`registering ${name} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { number: res.body.number as number, id: res.body.id as string };
}

/** Calls a predict route (`path` below /tandem/serve/) with a JSON body, on the server or a replica (`{ url, adminToken }`). */
export async function predict(
  server: Pick<TestServer, 'url' | 'adminToken'>,
  path: string,
  body: unknown,
  token: string | null = server.adminToken,
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${server.url}/tandem/serve/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const raw = await res.text();
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // kept as text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Creates a deployment and waits until it serves `version`. */
export async function deploy(
  server: TestServer,
  model: string,
  alias: string,
  options: { token?: string; settings?: Record<string, number>; version?: number } = {},
): Promise<any> {
  const created = await server.api('POST', 'deployments', { token: options.token, body: { model, alias, ...options.settings } });
  if (created.status !== 201) throw new Error(`deploying ${model}:${alias} failed: ${created.status} ${JSON.stringify(created.body)}`);
  if (options.version !== undefined) await servedVersion(server, created.body.id, options.version, options.token);
  return created.body;
}

/** Waits until the deployment `id` serves `version`. */
export function servedVersion(server: TestServer, id: string, version: number, token?: string): Promise<any> {
  return eventually(async () => {
    const { body } = await server.api('GET', `deployments/${id}`, { token });
    return body.status?.servedVersion === version && body.status.loadingVersion === null && body;
  });
}

/**
 * Registers `bytes` as version 1 of `name`, points `prod` at it and serves it. The credit model
 * (score = age + 10·income + 100·debt, with a signature) and the two-input pair serve most tests.
 */
export async function serveVersion(
  server: TestServer,
  name: string,
  bytes: Buffer,
  options: Parameters<typeof registerOnnx>[3] = {},
): Promise<void> {
  await registerOnnx(server, name, bytes, options);
  await server.api('PUT', `models/${name}/aliases/prod`, { body: { version: 1 } });
  await deploy(server, name, 'prod', { version: 1 });
}

export const CREDIT_SIGNATURE = {
  inputs: [
    { name: 'age', type: 'Float32' },
    { name: 'income', type: 'Float32' },
    { name: 'debt', type: 'Float32' },
  ],
  outputs: [{ name: 'score', type: 'Float32' }],
};

/** The credit and pair models, served at prod. */
export async function serveCreditAndPair(server: TestServer): Promise<void> {
  await serveVersion(server, 'credit', linear([1, 10, 100], 0), { signature: CREDIT_SIGNATURE });
  await serveVersion(server, 'pair', twoInputs());
}
