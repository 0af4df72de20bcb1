// Arrow and arquero tables as `application/vnd.tandem.table+json`: a bounded preview, the schema,
// the total row count and per-column summaries, so a 10M-row result never floods the browser.
import * as arrow from 'apache-arrow';
import type { ColumnSummary, TableMimeType, TablePayload } from '@tandem/server/api';
import type { MimeBundle } from '../kernel/channel.js';
import { addFormatter, toMimeBundle, type SelfDisplaying } from './mime-bundle.js';
import { toArrow, type Queryable } from '../sql/sql.js';

export type { ColumnSummary, TablePayload } from '@tandem/server/api';

export const TABLE_MIME: TableMimeType = 'application/vnd.tandem.table+json';

export interface TableOptions {
  /** Rows sent to the browser (default 1,000). */
  previewRows?: number;
}

/** JSON-safe cell values: big integers as numbers when exact, dates as ISO strings. */
function jsonValue(value: unknown, type: arrow.DataType): unknown {
  if (value == null) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if ((arrow.DataType.isDate(type) || arrow.DataType.isTimestamp(type)) && typeof value === 'number') return new Date(value).toISOString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'object') return JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
  return value;
}

/** Calls `visit` with every non-null value of a numeric or temporal column, straight from its buffers. */
function eachNumber(column: arrow.Vector, visit: (n: number) => void): void {
  for (const data of column.data) {
    const values = data.values as ArrayLike<number | bigint>;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
    for (let i = 0; i < data.length; i++) {
      const at = data.offset + i;
      if (bitmap && !(bitmap[at >> 3] & (1 << (at & 7)))) continue;
      const n = Number(values[at]);
      if (!Number.isNaN(n)) visit(n);
    }
  }
}

function summarize(name: string, type: arrow.DataType, column: arrow.Vector): ColumnSummary {
  const summary: ColumnSummary = { name, type: String(type), nulls: column.nullCount };
  const numeric = arrow.DataType.isInt(type) || arrow.DataType.isFloat(type);
  const temporal = arrow.DataType.isTimestamp(type) || arrow.DataType.isDate(type);
  if (!numeric && !temporal) return summary;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  const visit = (n: number) => {
    if (n < min) min = n;
    if (n > max) max = n;
    sum += n;
    count++;
  };
  if (numeric && !(arrow.DataType.isFloat(type) && type.precision === arrow.Precision.HALF)) eachNumber(column, visit);
  else for (const v of column) if (v != null) visit(Number(v));
  if (count === 0) return summary;
  if (numeric) return Object.assign(summary, { min, max, mean: sum / count });
  return Object.assign(summary, { min: new Date(min).toISOString(), max: new Date(max).toISOString() });
}

export function tablePayload(table: arrow.Table, { previewRows = 1000 }: TableOptions = {}): TablePayload {
  const fields = table.schema.fields;
  const columns = fields.map((f) => table.getChild(f.name)!);
  const shown = Math.min(previewRows, table.numRows);
  const rows: unknown[][] = [];
  for (let r = 0; r < shown; r++) rows.push(columns.map((c, i) => jsonValue(c.get(r), fields[i].type)));
  return {
    version: 1,
    rowCount: table.numRows,
    columns: fields.map((f, i) => summarize(f.name, f.type, columns[i])),
    rows,
    truncated: shown < table.numRows,
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const cellText = (v: unknown) => (v == null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function plainText(p: TablePayload, rows = 10): string {
  const head = [p.columns.map((c) => c.name), ...p.rows.slice(0, rows).map((r) => r.map(cellText))];
  const widths = p.columns.map((_, i) => Math.min(40, Math.max(...head.map((r) => r[i].length))));
  const lines = head.map((r) =>
    r
      .map((v, i) => v.slice(0, 40).padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const more = p.rowCount > rows ? `… ${(p.rowCount - rows).toLocaleString('en-US')} more rows\n` : '';
  return `${lines.join('\n')}\n${more}(${p.rowCount.toLocaleString('en-US')} rows × ${p.columns.length} columns)`;
}

function html(p: TablePayload, rows = 20): string {
  const header = p.columns.map((c) => `<th title="${escapeHtml(c.type)}">${escapeHtml(c.name)}</th>`).join('');
  const body = p.rows
    .slice(0, rows)
    .map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(cellText(v))}</td>`).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${header}</tr></thead><tbody>${body}</tbody></table><p>${p.rowCount.toLocaleString('en-US')} rows × ${p.columns.length} columns</p>`;
}

export function tableBundle(table: arrow.Table, options?: TableOptions): MimeBundle {
  const payload = tablePayload(table, options);
  return { [TABLE_MIME]: payload, 'text/plain': plainText(payload), 'text/html': html(payload) };
}

/** Shows an Arrow or arquero table as an interactive table (the default for table results). */
export function table(value: Queryable, options?: TableOptions): SelfDisplaying {
  const data = toArrow(value);
  return { [toMimeBundle]: () => tableBundle(data, options) };
}

const isArquero = (v: object): v is Queryable =>
  typeof (v as { toArrowIPC?: unknown }).toArrowIPC === 'function' && typeof (v as { numRows?: unknown }).numRows === 'function';

addFormatter((value) => (value instanceof arrow.Table ? tableBundle(value) : isArquero(value) ? tableBundle(toArrow(value)) : undefined));
