import { tableFromArrays, type Table } from 'apache-arrow';
import type { InferenceSession } from 'onnxruntime-node';
import { TandemApiError } from './api.js';

export interface ScoreOptions {
  /** Feature columns fed to a single-input model, in order (default: the signature's inputs, else every numeric column). */
  columns?: string[];
  signature?: { inputs: { name: string }[] };
}

type Features = Float32Array | Float64Array;

// Loading a session costs far more than scoring a batch: keep one per model file.
const sessions = new Map<string, Promise<InferenceSession>>();

async function sessionFor(file: string): Promise<InferenceSession> {
  let session = sessions.get(file);
  if (!session) {
    // onnxruntime-node is loaded on first use only: cells that never score should not pay for it.
    session = import('onnxruntime-node').then(({ InferenceSession }) => InferenceSession.create(file));
    sessions.set(file, session);
    session.catch(() => sessions.delete(file));
  }
  return session;
}

function numericColumns(table: Table): string[] {
  return table.schema.fields.filter((f) => /^(Int|Uint|Float)/.test(String(f.type))).map((f) => f.name);
}

function column(table: Table, name: string): ArrayLike<unknown> {
  const vector = table.getChild(name);
  if (!vector) {
    throw new TandemApiError(
      'INVALID_ARGUMENT',
      `the table has no column ${name} (columns: ${table.schema.fields.map((f) => f.name).join(', ')})`,
      400,
    );
  }
  return vector.toArray() as ArrayLike<unknown>;
}

/** Row-major [rows × columns] features; nulls become NaN. */
function features(table: Table, names: string[], Kind: { new (n: number): Features }): Features {
  const out = new Kind(table.numRows * names.length);
  names.forEach((name, j) => {
    const values = column(table, name);
    for (let i = 0; i < table.numRows; i++) out[i * names.length + j] = values[i] == null ? Number.NaN : Number(values[i]);
  });
  return out;
}

function arrayKind(session: InferenceSession, input: string): { type: 'float32' | 'float64'; Kind: { new (n: number): Features } } {
  const meta = (session as unknown as { inputMetadata?: { name: string; type?: string }[] }).inputMetadata?.find((m) => m.name === input);
  return meta?.type === 'float64' ? { type: 'float64', Kind: Float64Array } : { type: 'float32', Kind: Float32Array };
}

/**
 * Scores an Arrow table with an ONNX model. A model with one input gets a [rows × features]
 * matrix; a model with several inputs gets one [rows × 1] column per input of the same name.
 * Each output becomes a column (`name`, or `name_0…` for several values per row).
 */
export async function scoreOnnx(file: string, table: Table, options: ScoreOptions = {}): Promise<Table> {
  const session = await sessionFor(file);
  const { Tensor } = await import('onnxruntime-node');
  const rows = table.numRows;
  const feeds: Record<string, InstanceType<typeof Tensor>> = {};
  if (session.inputNames.length === 1) {
    const input = session.inputNames[0]!;
    const names = options.columns ?? options.signature?.inputs.map((c) => c.name).filter((n) => table.getChild(n)) ?? numericColumns(table);
    const cols = names.length > 0 ? names : numericColumns(table);
    const { type, Kind } = arrayKind(session, input);
    feeds[input] = new Tensor(type, features(table, cols, Kind), [rows, cols.length]);
  } else {
    for (const input of session.inputNames) {
      const { type, Kind } = arrayKind(session, input);
      feeds[input] = new Tensor(type, features(table, [input], Kind), [rows, 1]);
    }
  }
  const results = await session.run(feeds);
  const columns: Record<string, Float32Array | Float64Array | Int32Array | BigInt64Array> = {};
  for (const name of session.outputNames) {
    const data = results[name]!.data as Float32Array | Float64Array | Int32Array | BigInt64Array;
    const width = rows === 0 ? 1 : data.length / rows;
    if (width === 1) columns[name] = data;
    else for (let j = 0; j < width; j++) columns[`${name}_${j}`] = (data as Float32Array).filter((_, i) => i % width === j);
  }
  return tableFromArrays(columns);
}
