// DuckDB result chunks → Apache Arrow, column-wise. Fixed-width columns are copied as typed-array
// blocks (DuckDB's validity words have Arrow's LSB bit order), so 1M×3 numbers convert in a few
// milliseconds instead of ~0.7 s of per-value boxing; other types go value by value.
import type { DuckDBDataChunk, DuckDBType, DuckDBVector } from '@duckdb/node-api';
import { DuckDBTypeId } from '@duckdb/node-api';
import * as arrow from 'apache-arrow';

type TypedArrayCtor =
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

interface FixedWidth {
  array: TypedArrayCtor;
  arrow: () => arrow.DataType;
}

const FIXED_WIDTH: Partial<Record<DuckDBTypeId, FixedWidth>> = {
  [DuckDBTypeId.TINYINT]: { array: Int8Array, arrow: () => new arrow.Int8() },
  [DuckDBTypeId.SMALLINT]: { array: Int16Array, arrow: () => new arrow.Int16() },
  [DuckDBTypeId.INTEGER]: { array: Int32Array, arrow: () => new arrow.Int32() },
  [DuckDBTypeId.BIGINT]: { array: BigInt64Array, arrow: () => new arrow.Int64() },
  [DuckDBTypeId.UTINYINT]: { array: Uint8Array, arrow: () => new arrow.Uint8() },
  [DuckDBTypeId.USMALLINT]: { array: Uint16Array, arrow: () => new arrow.Uint16() },
  [DuckDBTypeId.UINTEGER]: { array: Uint32Array, arrow: () => new arrow.Uint32() },
  [DuckDBTypeId.UBIGINT]: { array: BigUint64Array, arrow: () => new arrow.Uint64() },
  [DuckDBTypeId.FLOAT]: { array: Float32Array, arrow: () => new arrow.Float32() },
  [DuckDBTypeId.DOUBLE]: { array: Float64Array, arrow: () => new arrow.Float64() },
  [DuckDBTypeId.DATE]: { array: Int32Array, arrow: () => new arrow.DateDay() },
  [DuckDBTypeId.TIMESTAMP]: { array: BigInt64Array, arrow: () => new arrow.TimestampMicrosecond() },
  [DuckDBTypeId.TIMESTAMP_TZ]: { array: BigInt64Array, arrow: () => new arrow.TimestampMicrosecond('UTC') },
  [DuckDBTypeId.TIMESTAMP_MS]: { array: BigInt64Array, arrow: () => new arrow.TimestampMillisecond() },
  [DuckDBTypeId.TIMESTAMP_S]: { array: BigInt64Array, arrow: () => new arrow.TimestampSecond() },
  [DuckDBTypeId.TIMESTAMP_NS]: { array: BigInt64Array, arrow: () => new arrow.TimestampNanosecond() },
};

interface RawVector {
  items: ArrayLike<number | bigint> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };
  validity: { data: BigUint64Array | null };
}

/** Copies DuckDB's 64-bit validity words into an Arrow bitmap at bit `offset` (a multiple of 64 except at the end). */
function copyValidity(target: Uint8Array, offset: number, length: number, words: BigUint64Array | null): number {
  let nulls = 0;
  if (!words) {
    for (let i = 0; i < length; i++) target[(offset + i) >> 3] |= 1 << ((offset + i) & 7);
    return 0;
  }
  const bytes = new Uint8Array(words.buffer, words.byteOffset, Math.ceil(length / 8));
  if ((offset & 7) === 0) {
    target.set(bytes, offset >> 3);
    for (let i = length; i < bytes.length * 8; i++) target[(offset + i) >> 3] &= ~(1 << ((offset + i) & 7));
  } else {
    for (let i = 0; i < length; i++) if (bytes[i >> 3] & (1 << (i & 7))) target[(offset + i) >> 3] |= 1 << ((offset + i) & 7);
  }
  for (let i = 0; i < length; i++) if (!(bytes[i >> 3] & (1 << (i & 7)))) nulls++;
  return nulls;
}

function fixedWidthColumn(spec: FixedWidth, vectors: DuckDBVector[], length: number): arrow.Data {
  const values = new spec.array(length);
  const bitmap = new Uint8Array(Math.ceil(length / 8));
  let offset = 0;
  let nullCount = 0;
  for (const vector of vectors as unknown as RawVector[]) {
    const items = vector.items;
    const part = new spec.array(items.buffer as ArrayBuffer, items.byteOffset, items.byteLength / spec.array.BYTES_PER_ELEMENT);
    (values as { set(a: ArrayLike<number | bigint>, at: number): void }).set(part, offset);
    nullCount += copyValidity(bitmap, offset, part.length, vector.validity.data);
    offset += part.length;
  }
  return arrow.makeData({
    type: spec.arrow(),
    length,
    nullCount,
    data: values,
    nullBitmap: nullCount > 0 ? bitmap : undefined,
  } as never);
}

/** Any other type, value by value, as the nearest Arrow type (strings, booleans, decimals as doubles…). */
function valueColumn(type: DuckDBType, vectors: DuckDBVector[]): arrow.Vector {
  const values: unknown[] = [];
  for (const vector of vectors) for (let i = 0; i < vector.itemCount; i++) values.push(toJs(vector.getItem(i)));
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return arrow.vectorFromArray(values, new arrow.Bool());
    case DuckDBTypeId.DECIMAL:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return arrow.vectorFromArray(
        values.map((v) => (v == null ? null : Number(v))),
        new arrow.Float64(),
      );
    default:
      return arrow.vectorFromArray(
        values.map((v) => (v == null || typeof v === 'string' ? v : String(v))),
        new arrow.Utf8(),
      );
  }
}

/** VARCHAR straight into Arrow's Utf8 layout (offsets + bytes + validity), skipping Arrow's builders. */
function utf8Column(vectors: DuckDBVector[], length: number): arrow.Vector {
  const offsets = new Int32Array(length + 1);
  const bitmap = new Uint8Array(Math.ceil(length / 8));
  let bytes = new Uint8Array(Math.max(1024, length * 8));
  const encoder = new TextEncoder();
  let row = 0;
  let end = 0;
  let nullCount = 0;
  for (const vector of vectors) {
    for (let i = 0; i < vector.itemCount; i++, row++) {
      const value = vector.getItem(i) as string | null;
      if (value === null) {
        nullCount++;
      } else {
        bitmap[row >> 3] |= 1 << (row & 7);
        if (end + value.length * 3 > bytes.length) {
          const grown = new Uint8Array(Math.max(bytes.length * 2, end + value.length * 3));
          grown.set(bytes.subarray(0, end));
          bytes = grown;
        }
        end += encoder.encodeInto(value, bytes.subarray(end)).written;
      }
      offsets[row + 1] = end;
    }
  }
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Utf8(),
      length,
      nullCount,
      valueOffsets: offsets,
      data: bytes.subarray(0, end),
      nullBitmap: nullCount > 0 ? bitmap : undefined,
    }),
  );
}

function toJs(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return value;
  return String(value); // decimals, intervals, lists, structs: their DuckDB text form
}

export function chunksToArrow(names: string[], types: DuckDBType[], chunks: DuckDBDataChunk[]): arrow.Table {
  const length = chunks.reduce((sum, chunk) => sum + chunk.rowCount, 0);
  const columns: Record<string, arrow.Vector> = {};
  names.forEach((name, index) => {
    const vectors = chunks.map((chunk) => chunk.getColumnVector(index));
    const spec = FIXED_WIDTH[types[index].typeId];
    columns[uniqueName(columns, name)] = spec
      ? arrow.makeVector(fixedWidthColumn(spec, vectors, length))
      : types[index].typeId === DuckDBTypeId.VARCHAR
        ? utf8Column(vectors, length)
        : valueColumn(types[index], vectors);
  });
  return new arrow.Table(columns);
}

function uniqueName(taken: Record<string, unknown>, name: string): string {
  let candidate = name;
  for (let n = 2; candidate in taken; n++) candidate = `${name}_${n}`;
  return candidate;
}
