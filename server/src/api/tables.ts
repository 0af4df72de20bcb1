/**
 * The table output the kernel emits (kernel/src/display/table.ts) and the extension renders
 * (extension/src/table): a bounded preview, the schema, the row count and per-column summaries.
 */

/** The MIME type of the payload in a cell's display data. */
export type TableMimeType = 'application/vnd.tandem.table+json';

export interface ColumnSummary {
  name: string;
  /** Apache Arrow type, e.g. `Int64`, `Utf8`, `Timestamp<MICROSECOND>`. */
  type: string;
  nulls: number;
  min?: number | string;
  max?: number | string;
  mean?: number;
}

/** A bounded preview of a result: `rows` holds at most the first few thousand of `rowCount`. */
export interface TablePayload {
  version: 1;
  rowCount: number;
  columns: ColumnSummary[];
  rows: unknown[][];
  truncated: boolean;
}
