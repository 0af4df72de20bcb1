// Data quality of one dataset, per column (nulls, distinct values, ranges), its duplicate rows,
// and, given a reference, what the reference never had: values outside its range, new categories.
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, rows as queryRows } from './column-stats.js';
import { dropAll, NUMERIC_TYPES, rowCount, schemaOf, viewOf, type Source } from './sources.js';

export interface QualityOptions {
  /** Data the current data is compared with: numbers outside its range, categories it lacks. */
  reference?: Source;
  /** Columns to describe (default: all). */
  columns?: string[];
}

export interface ColumnQuality {
  column: string;
  /** The DuckDB type. */
  type: string;
  nulls: number;
  nullShare: number;
  distinct: number;
  /** For numbers: the smallest and largest value. */
  min: number | null;
  max: number | null;
  /** With a reference, for numbers: values below its minimum or above its maximum. */
  outOfRange: number | null;
  /** With a reference, for other types: distinct values it never had, and a few of them. */
  newCategories: number | null;
  newExamples: string[];
}

export interface QualityReport {
  rows: number;
  /** Rows equal to an earlier row in every column. */
  duplicateRows: number;
  columns: ColumnQuality[];
}

const KNOWN_OPTIONS = new Set(['reference', 'columns']);
const EXAMPLES = 5;

/** The quality report of `source`, in DuckDB. */
export async function qualityReport(connection: DuckDBConnection, source: Source, options: QualityOptions = {}): Promise<QualityReport> {
  if (typeof options !== 'object' || options === null) throw new TypeError('quality(): options must be an object');
  for (const key of Object.keys(options))
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`quality(): unknown option "${key}" (known: ${[...KNOWN_OPTIONS].join(', ')})`);
  const temporary: string[] = [];
  try {
    const view = await viewOf(connection, source, { caller: 'quality()', side: 'data' }, temporary);
    const reference =
      options.reference === undefined
        ? undefined
        : await viewOf(connection, options.reference, { caller: 'quality()', side: 'reference' }, temporary);
    const schema = await schemaOf(connection, view);
    const referenceSchema = reference ? await schemaOf(connection, reference) : undefined;
    const columns = options.columns ?? [...schema.keys()];
    if (!Array.isArray(columns) || columns.length === 0)
      throw new TypeError('quality(): option "columns" must be a non-empty array of column names');
    for (const c of columns) {
      if (!schema.has(c)) throw new Error(`quality(): unknown column "${c}" (the data has ${[...schema.keys()].join(', ')})`);
      if (referenceSchema && !referenceSchema.has(c)) throw new Error(`quality(): the reference has no column "${c}"`);
    }
    const rows = await rowCount(connection, view);
    // DISTINCT takes nulls as equal, as a duplicate row's reader would.
    const [{ duplicates }] = await queryRows(
      connection,
      `SELECT (${rows} - (SELECT count(*) FROM (SELECT DISTINCT * FROM ${view})))::DOUBLE AS duplicates`,
    );
    const described: ColumnQuality[] = [];
    for (const column of columns) described.push(await describe(connection, view, reference, column, schema.get(column)!, rows));
    return { rows, duplicateRows: duplicates as number, columns: described };
  } finally {
    await dropAll(connection, temporary);
  }
}

async function describe(
  connection: DuckDBConnection,
  view: string,
  reference: string | undefined,
  column: string,
  type: string,
  rows: number,
): Promise<ColumnQuality> {
  const col = quoteIdent(column);
  const numeric = NUMERIC_TYPES.test(type);
  const [summary] = await queryRows(
    connection,
    `SELECT count(*) FILTER (WHERE ${col} IS NULL)::DOUBLE AS nulls, count(DISTINCT ${col})::DOUBLE AS distinct_values
      ${numeric ? `, min(${col})::DOUBLE AS lo, max(${col})::DOUBLE AS hi` : ''} FROM ${view}`,
  );
  const quality: ColumnQuality = {
    column,
    type,
    nulls: summary.nulls as number,
    nullShare: rows === 0 ? 0 : (summary.nulls as number) / rows,
    distinct: summary.distinct_values as number,
    min: numeric ? (summary.lo as number | null) : null,
    max: numeric ? (summary.hi as number | null) : null,
    outOfRange: null,
    newCategories: null,
    newExamples: [],
  };
  if (!reference) return quality;
  if (numeric) {
    const [range] = await queryRows(
      connection,
      `WITH r AS (SELECT min(${col})::DOUBLE AS lo, max(${col})::DOUBLE AS hi FROM ${reference})
       SELECT count(*) FILTER (WHERE ${col} < r.lo OR ${col} > r.hi)::DOUBLE AS outside FROM ${view}, r`,
    );
    return { ...quality, outOfRange: range.outside as number };
  }
  const fresh = `SELECT DISTINCT CAST(${col} AS VARCHAR) AS v FROM ${view} WHERE ${col} IS NOT NULL
    EXCEPT SELECT DISTINCT CAST(${col} AS VARCHAR) FROM ${reference} WHERE ${col} IS NOT NULL`;
  const [{ n }] = await queryRows(connection, `SELECT count(*)::DOUBLE AS n FROM (${fresh})`);
  const examples = await queryRows(connection, `SELECT v FROM (${fresh}) ORDER BY v LIMIT ${EXAMPLES}`);
  return { ...quality, newCategories: n as number, newExamples: examples.map((e) => String(e.v)) };
}
