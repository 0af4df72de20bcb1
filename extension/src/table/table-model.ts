// What the table renderer shows, without the DOM: the payload the Tandem kernel sends as
// `application/vnd.tandem.table+json` (written by kernel/src/display/table.ts; its type is the API
// contract's, and parsePayload() checks it at the boundary), and the sorted, paged
// view of its preview rows.

import { nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import type { ColumnSummary, TableMimeType, TablePayload } from '@tandem/server/api';

export const TABLE_MIME: TableMimeType = 'application/vnd.tandem.table+json';

const english = nullTranslator.load('tandem');

/** The payload's shape is the API contract's (server/src/api/tables.ts), shared with the kernel. */
export type { ColumnSummary, TablePayload } from '@tandem/server/api';

export type SortDirection = 'ascending' | 'descending';

export interface SortState {
  column: number;
  direction: SortDirection;
}

/** Checks the shape of a payload, naming the first field that is wrong. */
export function parsePayload(data: unknown): TablePayload {
  const p = data as Partial<TablePayload> | null;
  const fail = (field: string) => {
    throw new Error(`Invalid ${TABLE_MIME} output: "${field}" is missing or malformed`);
  };
  if (!p || typeof p !== 'object') fail('(payload)');
  if (p!.version !== 1) fail('version');
  if (typeof p!.rowCount !== 'number') fail('rowCount');
  if (!Array.isArray(p!.columns) || p!.columns.some((c) => typeof c?.name !== 'string' || typeof c.type !== 'string')) fail('columns');
  if (!Array.isArray(p!.rows) || p!.rows.some((r) => !Array.isArray(r))) fail('rows');
  return p as TablePayload;
}

export const isNumericType = (type: string): boolean => /^(u?int|float|decimal)/i.test(type);

/** Collation for text columns: case-insensitive, digits compared as numbers ("row 9" < "row 10"). */
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Numeric columns may carry integers beyond 2^53 as strings; they still sort as numbers. */
function compareValues(a: unknown, b: unknown, numeric: boolean): number {
  if (numeric) return Number(a) - Number(b);
  if (typeof a === 'boolean' || typeof a === 'number') return Number(a) - Number(b);
  const text = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));
  return collator.compare(text(a), text(b));
}

/** Row indexes of `rows` in sorted order; nulls always last, ties keep the original order. */
export function sortedOrder(rows: unknown[][], sort: SortState | undefined, columns: ColumnSummary[]): number[] {
  const order = rows.map((_, i) => i);
  if (!sort) return order;
  const numeric = isNumericType(columns[sort.column].type);
  const sign = sort.direction === 'ascending' ? 1 : -1;
  return order.sort((i, j) => {
    const a = rows[i][sort.column];
    const b = rows[j][sort.column];
    if (a == null || b == null) return a == null ? (b == null ? i - j : 1) : -1;
    return sign * compareValues(a, b, numeric) || i - j;
  });
}

/** Clicking a header sorts ascending, then descending, then back to the kernel's order. */
export function nextSort(current: SortState | undefined, column: number): SortState | undefined {
  if (current?.column !== column) return { column, direction: 'ascending' };
  return current.direction === 'ascending' ? { column, direction: 'descending' } : undefined;
}

export interface Page {
  /** Zero-based page index, clamped to the pages that exist. */
  index: number;
  count: number;
  /** First and last row numbers shown, one-based (0 and 0 when there are no rows). */
  first: number;
  last: number;
  rows: unknown[][];
}

export function pageOf(rows: unknown[][], order: number[], index: number, size: number): Page {
  const count = Math.max(1, Math.ceil(rows.length / size));
  const at = Math.min(Math.max(0, index), count - 1);
  const shown = order.slice(at * size, (at + 1) * size).map((i) => rows[i]);
  return { index: at, count, first: shown.length ? at * size + 1 : 0, last: at * size + shown.length, rows: shown };
}

const count = (n: number) => n.toLocaleString('en-US');

/** "1,000,000 rows × 3 columns · showing a preview of the first 1,000 rows". */
export function describeTable(p: TablePayload, trans: TranslationBundle = english): string {
  const size = trans.__(
    '%1 × %2',
    trans._n('%2 row', '%2 rows', p.rowCount, count(p.rowCount)),
    trans._n('%2 column', '%2 columns', p.columns.length, count(p.columns.length)),
  );
  return p.rows.length < p.rowCount ? trans.__('%1 · showing a preview of the first %2 rows', size, count(p.rows.length)) : size;
}

/** A cell as text: floats to at most 6 decimals (the full value stays in the tooltip). */
export function formatCell(value: unknown, type: string): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' && /^float|^decimal/i.test(type) && !Number.isInteger(value)) {
    return String(Number(value.toFixed(6)));
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** One line per column summary: "12 nulls · min 0 · max 99 · mean 49.5". */
export function describeColumn(c: ColumnSummary, trans: TranslationBundle = english): string {
  const parts = [trans._n('%2 null', '%2 nulls', c.nulls, count(c.nulls))];
  const stat = (v: number | string) => (typeof v === 'number' ? formatCell(v, 'Float64') : v);
  if (c.min !== undefined) parts.push(trans.__('min %1', stat(c.min)));
  if (c.max !== undefined) parts.push(trans.__('max %1', stat(c.max)));
  if (c.mean !== undefined) parts.push(trans.__('mean %1', stat(c.mean)));
  return parts.join(' · ');
}
