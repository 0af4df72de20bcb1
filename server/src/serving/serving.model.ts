import { createHash } from 'node:crypto';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { PredictValue, Signature } from '../api/index.js';
import { TandemError } from '../errors.js';

// One loaded ONNX version: its session, what its inputs take, and the conversions between JSON
// rows or columns and tensors. Everything a request can get wrong is found here, before it
// joins a batch, so one bad request never fails the others batched with it.

type ElementType =
  'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool' | 'string';
type Data =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

const ARRAYS: Record<ElementType, (n: number) => Data> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  int16: (n) => new Int16Array(n),
  uint16: (n) => new Uint16Array(n),
  int32: (n) => new Int32Array(n),
  uint32: (n) => new Uint32Array(n),
  int64: (n) => new BigInt64Array(n),
  uint64: (n) => new BigUint64Array(n),
  // onnxruntime takes booleans as one byte each.
  bool: (n) => new Uint8Array(n),
  string: (n) => new Array<string>(n).fill(''),
};

const INT_RANGE: Partial<Record<ElementType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** One ONNX input as requests fill it. */
export interface InputSpec {
  name: string;
  type: ElementType;
  /** The dimensions of one row (every dimension but the batch one). */
  rowShape: number[];
  rowSize: number;
  /** The first dimension is dynamic: rows of several requests can be stacked. */
  batched: boolean;
  /** For an input with a fixed first dimension: the rows a request must send. */
  fixedRows?: number;
  /** A rank-0 input: one value per request, fed without a batch dimension. */
  scalar?: boolean;
}

/** A request's input as tensors' data, not yet stacked with others. */
export interface Encoded {
  rows: number;
  data: Map<string, Data>;
}

/**
 * How JSON fields map onto inputs: `inputs`, one field per ONNX input; or `columns`, the
 * signature's input columns feeding the one [N, k] input, one number each.
 */
type FieldMode = { kind: 'inputs' } | { kind: 'columns'; input: InputSpec; columns: string[] };

export interface LoadedModel {
  version: number;
  versionId: string;
  inputs: InputSpec[];
  outputs: string[];
  /** Every input has a dynamic first dimension, so requests can share a model run. */
  batchable: boolean;
  /** The fields requests send, in the order errors list them. */
  fields: string[];
  encode(body: { rows: Record<string, unknown>[] } | { columns: Record<string, unknown[]> }): Encoded;
  /** Runs the model on the requests' stacked rows; answers each request's predictions. */
  run(batch: Encoded[]): Promise<PredictValue[][]>;
  release(): Promise<void>;
}

type Ort = typeof import('onnxruntime-node');
let ort: Promise<Ort> | undefined;
// Loaded on first use: a server that serves nothing should not pay for the native module.
const runtime = (): Promise<Ort> => (ort ??= import('onnxruntime-node'));

/** sha256 of the bytes, to refuse an artifact that is not what was registered. */
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Opens a version's ONNX bytes and checks that they can serve: every input and output a tensor
 * of a supported type with only the first dimension dynamic, and a warm-up run that succeeds.
 * Any failure is an error whose message says what is wrong with the model (shown as the
 * deployment's last error), with the runtime's error as its cause.
 */
export async function loadModel(
  bytes: Uint8Array,
  version: { number: number; id: string; signature: Signature | null },
): Promise<LoadedModel> {
  const { InferenceSession, Tensor } = await runtime();
  let session: InferenceSession;
  try {
    // One thread per run: the micro-batcher gives throughput, and onnxruntime's spinning pool
    // threads would otherwise take the CPU the event loop needs to parse and answer requests.
    session = await InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (cause) {
    throw new TandemError('INVALID_ARGUMENT', `version ${version.number} is not a loadable ONNX model: ${firstLine(cause)}`, { cause });
  }
  try {
    const inputs = session.inputMetadata.map((meta) => inputSpec(meta));
    for (const meta of session.outputMetadata) {
      if (!meta.isTensor)
        throw new TandemError(
          'INVALID_ARGUMENT',
          `output ${meta.name} is not a tensor (a ZipMap?): export the model with tensor outputs only`,
        );
    }
    const mode = fieldMode(inputs, version.signature);
    const model = new OnnxModel(session, Tensor, version, inputs, session.outputNames.slice(), mode);
    await model.warmUp();
    return model;
  } catch (error) {
    await session.release().catch(() => undefined);
    if (error instanceof TandemError) throw error;
    throw new TandemError('INVALID_ARGUMENT', `version ${version.number} failed its warm-up run: ${firstLine(error)}`, { cause: error });
  }
}

function inputSpec(meta: InferenceSession.ValueMetadata): InputSpec {
  if (!meta.isTensor) throw new TandemError('INVALID_ARGUMENT', `input ${meta.name} is not a tensor: only tensor inputs can be served`);
  if (!(meta.type in ARRAYS))
    throw new TandemError('INVALID_ARGUMENT', `input ${meta.name} has type ${meta.type}, which serving does not take yet`);
  const dims = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : undefined));
  if (dims.length === 0)
    return { name: meta.name, type: meta.type as ElementType, rowShape: [], rowSize: 1, batched: false, fixedRows: 1, scalar: true };
  const rest = dims.slice(1);
  if (rest.some((d) => d === undefined)) {
    throw new TandemError(
      'INVALID_ARGUMENT',
      `input ${meta.name} has shape [${meta.shape.join(', ')}]: serving needs every dimension but the first (the batch) fixed`,
    );
  }
  const rowShape = rest as number[];
  return {
    name: meta.name,
    type: meta.type as ElementType,
    rowShape,
    rowSize: rowShape.reduce((a, b) => a * b, 1),
    batched: dims[0] === undefined,
    ...(dims[0] === undefined ? {} : { fixedRows: dims[0] }),
  };
}

/** Signature columns feed a single [N, k] input when there are exactly k of them, named otherwise than the input. */
function fieldMode(inputs: InputSpec[], signature: Signature | null): FieldMode {
  const columns = signature?.inputs.map((c) => c.name) ?? [];
  const [only] = inputs;
  if (
    inputs.length === 1 &&
    only!.rowShape.length === 1 &&
    columns.length === only!.rowShape[0] &&
    !(columns.length === 1 && columns[0] === only!.name) &&
    new Set(columns).size === columns.length
  ) {
    return { kind: 'columns', input: only!, columns };
  }
  return { kind: 'inputs' };
}

class OnnxModel implements LoadedModel {
  readonly version: number;
  readonly versionId: string;
  readonly batchable: boolean;
  readonly fields: string[];
  private readonly fieldSet: Set<string>;

  constructor(
    private readonly session: InferenceSession,
    private readonly TensorClass: Ort['Tensor'],
    meta: { number: number; id: string },
    readonly inputs: InputSpec[],
    readonly outputs: string[],
    private readonly mode: FieldMode,
  ) {
    this.version = meta.number;
    this.versionId = meta.id;
    this.batchable = inputs.every((i) => i.batched);
    this.fields = mode.kind === 'columns' ? mode.columns : inputs.map((i) => i.name);
    this.fieldSet = new Set(this.fields);
  }

  encode(body: { rows: Record<string, unknown>[] } | { columns: Record<string, unknown[]> }): Encoded {
    const byRow = 'rows' in body;
    const rows = byRow ? body.rows.length : this.columnLength(body.columns);
    if (rows === 0) throw invalid(byRow ? 'rows' : 'columns', 'send at least one row');
    for (const input of this.inputs) {
      if (input.fixedRows !== undefined && rows !== input.fixedRows)
        throw invalid(byRow ? 'rows' : 'columns', `input ${input.name} takes exactly ${input.fixedRows} row(s) per request, got ${rows}`);
    }
    if (byRow) {
      body.rows.forEach((row, i) => this.checkFields(row, `rows[${i}]`));
    } else this.checkFields(body.columns, 'columns');
    const value = byRow
      ? (field: string, i: number) => body.rows[i]![field]
      : (field: string, i: number) => (body.columns[field] as unknown[])[i];
    const where = byRow ? (field: string, i: number) => `rows[${i}].${field}` : (field: string, i: number) => `columns.${field}[${i}]`;
    const data = new Map<string, Data>();
    if (this.mode.kind === 'columns') {
      const { input, columns } = this.mode;
      const out = ARRAYS[input.type](rows * columns.length);
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < columns.length; j++) put(out, i * columns.length + j, value(columns[j]!, i), input.type, where(columns[j]!, i));
      data.set(input.name, out);
    } else {
      for (const input of this.inputs) {
        const out = ARRAYS[input.type](rows * input.rowSize);
        for (let i = 0; i < rows; i++) fill(out, i * input.rowSize, value(input.name, i), input, where(input.name, i));
        data.set(input.name, out);
      }
    }
    return { rows, data };
  }

  async run(batch: Encoded[]): Promise<PredictValue[][]> {
    const rows = batch.reduce((n, e) => n + e.rows, 0);
    const feeds: Record<string, Tensor> = {};
    for (const input of this.inputs) {
      const parts = batch.map((e) => e.data.get(input.name)!);
      const data = parts.length === 1 ? parts[0]! : stack(parts, input.type, rows * input.rowSize);
      const dims = input.scalar ? [] : [rows, ...input.rowShape];
      feeds[input.name] = new this.TensorClass(input.type, data as never, dims);
    }
    const results = await this.session.run(feeds);
    const perOutput = this.outputs.map((name) => splitRows(results[name] as Tensor, rows, name));
    const answers: PredictValue[][] = [];
    let start = 0;
    for (const e of batch) {
      const predictions: PredictValue[] = [];
      for (let i = start; i < start + e.rows; i++) {
        if (perOutput.length === 1) predictions.push(perOutput[0]![i]!);
        else predictions.push(Object.fromEntries(this.outputs.map((name, o) => [name, perOutput[o]![i]!])) as unknown as PredictValue);
      }
      answers.push(predictions);
      start += e.rows;
    }
    return answers;
  }

  /** One run on neutral values (zeros, empty strings), so a model that loads but cannot run never serves. */
  async warmUp(): Promise<void> {
    const rows = this.inputs.find((i) => i.fixedRows !== undefined)?.fixedRows ?? 1;
    const data = new Map<string, Data>(this.inputs.map((i) => [i.name, ARRAYS[i.type](rows * i.rowSize)]));
    await this.run([{ rows, data }]);
  }

  release(): Promise<void> {
    return this.session.release();
  }

  /** The row count of a columnar body: every column, known or not, must have as many values. */
  private columnLength(columns: Record<string, unknown[]>): number {
    let first: [string, number] | undefined;
    for (const [field, values] of Object.entries(columns)) {
      if (!Array.isArray(values)) throw invalid(`columns.${field}`, 'expected an array with one value per row', field);
      if (first && values.length !== first[1])
        throw invalid(`columns.${field}`, `has ${values.length} values, but ${first[0]} has ${first[1]}`, field);
      first ??= [field, values.length];
    }
    return first?.[1] ?? 0;
  }

  private checkFields(object: Record<string, unknown>, where: string): void {
    if (typeof object !== 'object' || object === null || Array.isArray(object)) throw invalid(where, 'expected an object of fields');
    for (const field of this.fields) {
      if (object[field] === undefined)
        throw invalid(`${where}.${field}`, `missing field (the model takes ${this.fields.join(', ')})`, field);
    }
    for (const field of Object.keys(object)) {
      if (!this.fieldSet.has(field)) throw invalid(`${where}.${field}`, `unknown field (the model takes ${this.fields.join(', ')})`, field);
    }
  }
}

/** Writes one row's value of `input` (a scalar, or nested arrays of the row's shape) at `offset`. */
function fill(out: Data, offset: number, value: unknown, input: InputSpec, where: string): void {
  if (input.rowShape.length === 0 || (input.rowSize === 1 && !Array.isArray(value))) {
    put(out, offset, value, input.type, where);
    return;
  }
  let at = offset;
  const walk = (v: unknown, depth: number, path: string) => {
    const size = input.rowShape[depth]!;
    if (!Array.isArray(v) || v.length !== size)
      throw invalid(
        path,
        `expected shape [${input.rowShape.join(', ')}] per row: ${Array.isArray(v) ? `got ${v.length} values` : 'got a scalar'} at depth ${depth}`,
        input.name,
      );
    for (let k = 0; k < size; k++) {
      if (depth + 1 < input.rowShape.length) walk(v[k], depth + 1, `${path}[${k}]`);
      else put(out, at++, v[k], input.type, `${path}[${k}]`);
    }
  };
  walk(value, 0, where);
}

/** Stores one element, refusing values that are not of the input's type. */
function put(out: Data, index: number, value: unknown, type: ElementType, where: string): void {
  switch (type) {
    case 'float32':
    case 'float64':
      if (value === null) (out as Float64Array)[index] = Number.NaN;
      else if (typeof value === 'number') (out as Float64Array)[index] = value;
      else throw wrongType(where, 'a number (or null for NaN)', value);
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw wrongType(where, 'true or false', value);
      (out as Uint8Array)[index] = value ? 1 : 0;
      return;
    case 'string':
      if (typeof value !== 'string') throw wrongType(where, 'a string', value);
      (out as string[])[index] = value;
      return;
    default: {
      const [min, max] = INT_RANGE[type]!;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
        throw wrongType(where, `an integer in ${type} range [${min}, ${max}]`, value);
      if (type === 'int64' || type === 'uint64') (out as BigInt64Array)[index] = BigInt(value);
      else (out as Int32Array)[index] = value;
    }
  }
}

function stack(parts: Data[], type: ElementType, length: number): Data {
  if (type === 'string') return (parts as string[][]).flat();
  const out = ARRAYS[type](length) as Float64Array;
  let at = 0;
  for (const part of parts as Float64Array[]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** An output's values, one per row (a scalar for one value per row, else nested by the output's shape). */
function splitRows(tensor: Tensor, rows: number, name: string): PredictValue[] {
  const dims = tensor.dims;
  const data = tensor.data as ArrayLike<unknown>;
  const rowShape = dims.length === 0 ? [] : dims.slice(1);
  if (dims.length === 0 || dims[0] !== rows) {
    // An output without a row per input row (a model-level summary): only a one-row request can take it.
    if (rows === 1) return [nest(data, 0, dims.length === 0 ? [] : dims, tensor.type)];
    throw new TandemError('INTERNAL', `output ${name} has shape [${dims.join(', ')}] for ${rows} rows: it cannot be split into rows`);
  }
  const width = rowShape.reduce((a, b) => a * b, 1);
  const scalar = width === 1;
  const out: PredictValue[] = new Array(rows);
  for (let i = 0; i < rows; i++) out[i] = scalar ? element(data[i * width], tensor.type) : nest(data, i * width, rowShape, tensor.type);
  return out;
}

function nest(data: ArrayLike<unknown>, offset: number, shape: readonly number[], type: string): PredictValue {
  if (shape.length === 0) return element(data[offset], type);
  const [size, ...rest] = shape;
  const step = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: size! }, (_, k) => nest(data, offset + k * step, rest, type));
}

function element(value: unknown, type: string): PredictValue {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (type === 'bool') return value === 1 || value === true;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  return value as PredictValue;
}

function wrongType(where: string, expected: string, value: unknown): TandemError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
  return invalid(where, `expected ${expected}, got ${got}`);
}

function invalid(where: string, problem: string, field?: string): TandemError {
  return new TandemError('INVALID_ARGUMENT', `${where}: ${problem}`, { details: { field: field ?? where } });
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error)
    .split('\n')[0]!
    .slice(0, 500);
}
