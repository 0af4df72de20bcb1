// Loads an Apache Arrow table into a DuckDB table so SQL can query in-memory data by name.
// Null-free numeric columns are copied block-wise into DuckDB vectors; the rest value by value.
import { DuckDBDataChunk, DuckDBTimestampValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import * as arrow from 'apache-arrow';

const CHUNK = 2048;

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface ColumnPlan {
  sqlType: string;
  /** Set when the column's values can be copied as a typed array (no nulls, same width). */
  typed?: (offset: number, length: number) => ArrayLike<number | bigint>;
  value: (v: unknown) => DuckDBValue;
}

const asTimestamp = (v: unknown): DuckDBValue =>
  v == null ? null : new DuckDBTimestampValue(BigInt(Math.round((v instanceof Date ? v.getTime() : Number(v)) * 1000)));

function plan(type: arrow.DataType, column: arrow.Vector): ColumnPlan {
  const typedCopy = () => {
    if (column.nullCount > 0 || column.data.length !== 1) return undefined;
    const values = column.data[0].values as ArrayLike<number | bigint> & { subarray(a: number, b: number): ArrayLike<number | bigint> };
    return (offset: number, length: number) => values.subarray(offset, offset + length);
  };
  if (arrow.DataType.isInt(type)) {
    const names: Record<number, string> = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' };
    return { sqlType: `${type.isSigned ? '' : 'U'}${names[type.bitWidth]}`, typed: typedCopy(), value: (v) => v as DuckDBValue };
  }
  if (arrow.DataType.isFloat(type)) {
    const sqlType = type.precision === arrow.Precision.SINGLE ? 'FLOAT' : 'DOUBLE';
    return { sqlType, typed: type.precision === arrow.Precision.HALF ? undefined : typedCopy(), value: (v) => v as DuckDBValue };
  }
  if (arrow.DataType.isBool(type)) return { sqlType: 'BOOLEAN', value: (v) => (v == null ? null : Boolean(v)) };
  if (arrow.DataType.isDate(type) || arrow.DataType.isTimestamp(type)) return { sqlType: 'TIMESTAMP', value: asTimestamp };
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isLargeUtf8(type) || arrow.DataType.isDictionary(type)) {
    return { sqlType: 'VARCHAR', value: (v) => (v == null ? null : String(v)) };
  }
  return { sqlType: 'VARCHAR', value: (v) => (v == null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v)) };
}

export async function loadArrowTable(connection: DuckDBConnection, name: string, table: arrow.Table): Promise<void> {
  const fields = table.schema.fields;
  const columns = fields.map((field) => table.getChild(field.name)!);
  const plans = fields.map((field, i) => plan(field.type, columns[i]));
  const ddl = fields.map((field, i) => `${quoteIdent(field.name)} ${plans[i].sqlType}`).join(', ');
  await connection.run(`CREATE OR REPLACE TABLE ${quoteIdent(name)} (${ddl})`);
  const appender = await connection.createAppender(name);
  try {
    const types = fields.map((_, i) => appender.columnType(i));
    for (let offset = 0; offset < table.numRows; offset += CHUNK) {
      const length = Math.min(CHUNK, table.numRows - offset);
      const chunk = DuckDBDataChunk.create(types, length);
      plans.forEach((p, i) => {
        if (p.typed) {
          const vector = chunk.getColumnVector(i) as unknown as { items: { set(a: ArrayLike<number | bigint>): void }; flush(): void };
          vector.items.set(p.typed(offset, length));
          vector.flush();
        } else {
          const values: DuckDBValue[] = new Array(length);
          for (let r = 0; r < length; r++) values[r] = p.value(columns[i].get(offset + r));
          chunk.setColumnValues(i, values);
        }
      });
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
