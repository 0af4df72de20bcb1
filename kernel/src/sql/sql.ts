// `sql` for cells: DuckDB in-process over files, s3:// objects and in-memory tables, returning
// Apache Arrow tables. Values are always bound as parameters, never spliced into the SQL text.
import { DuckDBInstance, DuckDBTimestampValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import * as arrow from 'apache-arrow';
import { onInterrupt } from '../kernel/channel.js';
import { loadArrowTable } from './arrow-to-duckdb.js';
import { chunksToArrow } from './duckdb-to-arrow.js';
import { trackProgress } from './progress.js';
import { withLocalFiles } from './remote-files.js';

/** Something `sql` can query as a table: an Arrow table or an arquero table. */
export type Queryable = arrow.Table | { toArrowIPC(): Uint8Array };

export type SqlParams = unknown[] | Record<string, unknown>;

let connection: Promise<DuckDBConnection> | undefined;
let generated = 0;

/** The kernel's DuckDB connection (in memory; created on first use). */
export function duckdb(): Promise<DuckDBConnection> {
  connection ??= DuckDBInstance.create(':memory:').then((db) => db.connect());
  return connection;
}

export function isQueryable(value: unknown): value is Queryable {
  return (
    value instanceof arrow.Table ||
    (typeof value === 'object' && value !== null && typeof (value as { toArrowIPC?: unknown }).toArrowIPC === 'function')
  );
}

export function toArrow(value: Queryable): arrow.Table {
  return value instanceof arrow.Table ? value : arrow.tableFromIPC(value.toArrowIPC());
}

/** Makes `table` queryable as `name` (replacing an earlier table of that name). */
export async function register(name: string, table: Queryable): Promise<void> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`register(): table name "${name}" must be a plain identifier`);
  await loadArrowTable(await duckdb(), name, toArrow(table));
}

function toDuckValue(value: unknown, index: number): DuckDBValue {
  if (value === undefined) throw new Error(`sql parameter ${index + 1} is undefined`);
  if (value instanceof Date) return new DuckDBTimestampValue(BigInt(value.getTime()) * 1000n);
  return value as DuckDBValue;
}

function bind(params: SqlParams | undefined): DuckDBValue[] | Record<string, DuckDBValue> | undefined {
  if (!params) return undefined;
  if (Array.isArray(params)) return params.map(toDuckValue);
  return Object.fromEntries(Object.entries(params).map(([k, v], i) => [k, toDuckValue(v, i)]));
}

/** Runs one query; a statement without rows (CREATE, COPY…) gives an empty table. */
export async function runQuery(query: string, params?: SqlParams): Promise<arrow.Table> {
  const conn = await duckdb();
  const text = await withLocalFiles(query);
  const progress = trackProgress('sql', { percentage: () => conn.progress.percentage });
  const stopInterrupt = onInterrupt(() => conn.interrupt());
  let rows = 0;
  try {
    const result = await conn.run(text, bind(params));
    const chunks = await result.fetchAllChunks();
    const table = chunksToArrow(result.columnNames(), result.columnTypes(), chunks);
    rows = table.numRows;
    return table;
  } catch (cause) {
    throw new SqlError(cause instanceof Error ? cause.message : String(cause), query, { cause });
  } finally {
    stopInterrupt();
    progress.done(`${rows.toLocaleString('en-US')} rows`);
  }
}

export class SqlError extends Error {
  override name = 'SqlError';
  constructor(
    message: string,
    readonly query: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * sql`select * from ${table} where x > ${min}` or sql('select … where x > $1', [min]).
 * In the tagged form, Arrow/arquero tables become temporary tables and other values bound
 * parameters; quoted 's3://bucket/key' paths are read through MinIO.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Promise<arrow.Table>;
export function sql(query: string, params?: SqlParams): Promise<arrow.Table>;
export async function sql(first: TemplateStringsArray | string, ...rest: unknown[]): Promise<arrow.Table> {
  if (typeof first === 'string') return runQuery(first, rest[0] as SqlParams | undefined);
  let text = first[0];
  const params: unknown[] = [];
  const temporary: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const value = rest[i];
    if (isQueryable(value)) {
      const name = `__tandem_t${++generated}`;
      await register(name, value);
      temporary.push(name);
      text += name;
    } else {
      params.push(value);
      text += `$${params.length}`;
    }
    text += first[i + 1];
  }
  try {
    return await runQuery(text, params);
  } finally {
    const conn = await duckdb();
    for (const name of temporary) await conn.run(`DROP TABLE IF EXISTS ${name}`);
  }
}
