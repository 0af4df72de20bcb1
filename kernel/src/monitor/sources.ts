// The datasets monitors read, as temporary DuckDB views: tables, files, queries or Arrow tables.
import type { DuckDBConnection } from '@duckdb/node-api';
import { loadArrowTable } from '../sql/arrow-to-duckdb.js';
import { withLocalFiles } from '../sql/remote-files.js';
import { isQueryable, toArrow, type Queryable } from '../sql/sql.js';

/** A table name, a file path (.parquet, .csv, .json), a SELECT query, or an Arrow/arquero table. */
export type Source = string | Queryable;

/** DuckDB types compared as numbers. */
export const NUMERIC_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;

let generated = 0;

/**
 * Creates a temporary view over `source` and returns its name; `temporary` collects what to drop
 * afterwards (dropAll). Errors name the caller and the side, e.g. "drift(): cannot read the reference".
 */
export async function viewOf(
  connection: DuckDBConnection,
  source: Source,
  { caller, side }: { caller: string; side: string },
  temporary: string[],
): Promise<string> {
  const name = `__tandem_monitor_${++generated}_${side.replace(/\W/g, '_')}`;
  let query: string;
  if (isQueryable(source)) {
    await loadArrowTable(connection, `${name}_data`, toArrow(source));
    temporary.push(`TABLE IF EXISTS ${name}_data`);
    query = `SELECT * FROM ${name}_data`;
  } else if (typeof source !== 'string' || source.trim() === '') {
    throw new TypeError(`${caller}: the ${side} must be a table name, a file path, a SELECT query or an Arrow/arquero table`);
  } else if (/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(source)) {
    query = `SELECT * FROM ${source}`;
  } else if (/^\S+\.(parquet|csv|tsv|json|jsonl|ndjson)(\.gz)?$/i.test(source)) {
    query = await withLocalFiles(`SELECT * FROM '${source.replace(/'/g, "''")}'`);
  } else {
    query = await withLocalFiles(source);
  }
  try {
    await connection.run(`CREATE TEMP VIEW ${name} AS ${query}`);
  } catch (cause) {
    throw new Error(`${caller}: cannot read the ${side}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  temporary.unshift(`VIEW IF EXISTS ${name}`);
  return name;
}

export async function dropAll(connection: DuckDBConnection, temporary: string[]): Promise<void> {
  for (const object of temporary) await connection.run(`DROP ${object}`);
}

/** Column names and DuckDB types, in order. */
export async function schemaOf(connection: DuckDBConnection, view: string): Promise<Map<string, string>> {
  const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${view}`);
  return new Map(reader.getRowObjectsJS().map((r) => [String(r.column_name), String(r.column_type)]));
}

export async function rowCount(connection: DuckDBConnection, view: string): Promise<number> {
  const reader = await connection.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${view}`);
  return reader.getRowObjectsJS()[0]!.n as number;
}
