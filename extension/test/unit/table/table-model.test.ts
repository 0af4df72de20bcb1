import { describe, expect, it } from 'vitest';
import {
  describeColumn,
  describeTable,
  formatCell,
  nextSort,
  pageOf,
  parsePayload,
  sortedOrder,
  type ColumnSummary,
  type TablePayload,
} from '../../../src/table/table-model';

const columns: ColumnSummary[] = [
  { name: 'id', type: 'Int64', nulls: 0 },
  { name: 'label', type: 'Utf8', nulls: 1 },
];
const rows = [
  [10, 'row 10'],
  ['9007199254740993', null],
  [9, 'row 9'],
  [null, 'Row 2'],
];

describe('table model', () => {
  it('parsePayload() accepts kernel payloads and names the malformed field otherwise', () => {
    const payload: TablePayload = { version: 1, rowCount: 4, columns, rows, truncated: false };
    expect(parsePayload(payload)).toBe(payload);
    expect(() => parsePayload({ ...payload, rowCount: '4' })).toThrow('"rowCount"');
    expect(() => parsePayload({ ...payload, columns: [{ name: 'x' }] })).toThrow('"columns"');
    expect(() => parsePayload(null)).toThrow('malformed');
  });

  it('sortedOrder() sorts numbers numerically (big integers sent as strings too) and keeps nulls last', () => {
    expect(sortedOrder(rows, { column: 0, direction: 'ascending' }, columns)).toEqual([2, 0, 1, 3]);
    expect(sortedOrder(rows, { column: 0, direction: 'descending' }, columns)).toEqual([1, 0, 2, 3]);
  });

  it('sortedOrder() sorts text case-insensitively with digits as numbers, and leaves the kernel order unsorted', () => {
    expect(sortedOrder(rows, { column: 1, direction: 'ascending' }, columns)).toEqual([3, 2, 0, 1]);
    expect(sortedOrder(rows, undefined, columns)).toEqual([0, 1, 2, 3]);
  });

  it('nextSort() cycles a header through ascending, descending and unsorted', () => {
    const asc = nextSort(undefined, 1);
    expect(asc).toEqual({ column: 1, direction: 'ascending' });
    expect(nextSort(asc, 1)).toEqual({ column: 1, direction: 'descending' });
    expect(nextSort(nextSort(asc, 1), 1)).toBeUndefined();
    expect(nextSort(asc, 0)).toEqual({ column: 0, direction: 'ascending' });
  });

  it('pageOf() slices the sorted rows and clamps the page index', () => {
    const many = Array.from({ length: 55 }, (_, i) => [i]);
    const order = many.map((_, i) => 54 - i);
    expect(pageOf(many, order, 0, 25)).toMatchObject({ index: 0, count: 3, first: 1, last: 25 });
    expect(pageOf(many, order, 0, 25).rows[0]).toEqual([54]);
    const last = pageOf(many, order, 99, 25);
    expect(last).toMatchObject({ index: 2, first: 51, last: 55 });
    expect(last.rows).toEqual([[4], [3], [2], [1], [0]]);
    expect(pageOf([], [], 0, 25)).toMatchObject({ index: 0, count: 1, first: 0, last: 0, rows: [] });
  });

  it('describeTable() states the full size and whether only a preview was sent', () => {
    const big: TablePayload = { version: 1, rowCount: 1_000_000, columns, rows, truncated: true };
    expect(describeTable(big)).toBe('1,000,000 rows × 2 columns · showing a preview of the first 4 rows');
    expect(describeTable({ ...big, rowCount: 1, rows: [[1, 'a']], columns: [columns[0]] })).toBe('1 row × 1 column');
  });

  it('formats floats to six decimals, nulls and nested values readably, and column statistics', () => {
    expect(formatCell(Math.PI, 'Float64')).toBe('3.141593');
    expect(formatCell(12, 'Float64')).toBe('12');
    expect(formatCell(null, 'Utf8')).toBe('null');
    expect(formatCell({ a: [1] }, 'Struct<{a:List<Int32>}>')).toBe('{"a":[1]}');
    expect(describeColumn({ name: 'x', type: 'Float64', nulls: 1, min: 0, max: 2, mean: 2 / 3 })).toBe(
      '1 null · min 0 · max 2 · mean 0.666667',
    );
    expect(describeColumn({ name: 't', type: 'Timestamp<MICROSECOND>', nulls: 0, min: '2020-01-01T00:00:00.000Z' })).toBe(
      '0 nulls · min 2020-01-01T00:00:00.000Z',
    );
  });
});
