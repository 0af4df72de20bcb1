import { Table, tableFromIPC, tableToIPC, Vector, vectorFromArray } from 'apache-arrow';
import type { PredictResponse, PredictValue } from '../api/index.js';
import { TandemError } from '../errors.js';

// Arrow IPC in and out of the predict routes. A body is decoded to the columns a JSON body would
// send, so that the predict schema and the model check both alike; the answer is the predictions
// as columns. Types follow JSON's: numbers, strings, booleans, null and nested lists.

/**
 * The columns of an Arrow IPC body (stream or file format, told apart by its first bytes): one
 * array of values per field. int64 values become numbers, and a column holding one a number
 * cannot represent exactly is refused, naming it.
 */
export function columnsFromArrow(bytes: Uint8Array): Record<string, unknown[]> {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (error) {
    throw new TandemError('INVALID_ARGUMENT', `the body is not an Arrow IPC stream or file: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // An empty body reads as a table without a schema.
  if (table.schema.fields.length === 0) throw new TandemError('INVALID_ARGUMENT', 'the Arrow IPC body holds no columns');
  const columns: Record<string, unknown[]> = {};
  for (const [i, field] of table.schema.fields.entries()) {
    columns[field.name] = Array.from(table.getChildAt(i)!, (value) => plain(value, field.name));
  }
  return columns;
}

/**
 * The predictions as an Arrow IPC stream: a column per output when the model has several (the
 * keys of each prediction), else one column, `prediction`. The version goes in a header.
 */
export function arrowFromPredictions(answer: PredictResponse): Uint8Array {
  const { predictions } = answer;
  const first = predictions[0];
  const byOutput = typeof first === 'object' && first !== null && !Array.isArray(first);
  const columns: Record<string, PredictValue[]> = byOutput
    ? Object.fromEntries(Object.keys(first).map((name) => [name, (predictions as Record<string, PredictValue>[]).map((p) => p[name]!)]))
    : { prediction: predictions as PredictValue[] };
  const vectors: Record<string, Vector> = {};
  for (const [name, values] of Object.entries(columns)) {
    try {
      vectors[name] = vectorFromArray(values);
    } catch (error) {
      // Values of several types in one output, such as int64s beyond 2^53 that JSON answers as strings.
      throw new TandemError('INVALID_ARGUMENT', `output ${name} does not fit one Arrow column: ask for JSON instead`, { cause: error });
    }
  }
  return tableToIPC(new Table(vectors), 'stream');
}

function plain(value: unknown, column: string): unknown {
  if (typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isSafeInteger(n))
      throw new TandemError('INVALID_ARGUMENT', `columns.${column}: ${value} is beyond what a number holds exactly (±2^53 - 1)`, {
        details: { field: column },
      });
    return n;
  }
  // List and fixed-size list values are vectors of their own.
  if (value instanceof Vector) return Array.from(value, (item) => plain(item, column));
  return value;
}
