import * as aq from 'arquero';
import { tableFromArrays } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { mimeBundleOf } from '../../src/display/mime-bundle.js';
import { table, TABLE_MIME, tablePayload, type TablePayload } from '../../src/display/table.js';
import { sql } from '../../src/sql/sql.js';

describe('table display', () => {
  it('sends a bounded preview of a 1M-row result with the total count, schema and summaries', async () => {
    const big = await sql`select i::INTEGER as i, case when i % 2 = 0 then null else 'odd' end as parity from range(1000000) t(i)`;
    const payload = tablePayload(big);
    expect(payload.rowCount).toBe(1_000_000);
    expect(payload.rows).toHaveLength(1000);
    expect(payload.truncated).toBe(true);
    expect(payload.columns).toEqual([
      { name: 'i', type: 'Int32', nulls: 0, min: 0, max: 999_999, mean: 499_999.5 },
      { name: 'parity', type: 'Utf8', nulls: 500_000 },
    ]);
    expect(payload.rows[1]).toEqual([1, 'odd']);
  });

  it('shows Arrow and arquero values automatically with table, text and HTML renderings', () => {
    const arrowBundle = mimeBundleOf(tableFromArrays({ x: new Float64Array([1.5]), when: [new Date(0)] }));
    expect((arrowBundle[TABLE_MIME] as TablePayload).rows).toEqual([[1.5, '1970-01-01T00:00:00.000Z']]);
    expect(arrowBundle['text/plain']).toContain('(1 rows × 2 columns)');
    expect(arrowBundle['text/html']).toContain('<th title="Float64">x</th>');
    const arqueroBundle = mimeBundleOf(aq.table({ name: ['<b>'] }));
    expect((arqueroBundle[TABLE_MIME] as TablePayload).rows).toEqual([['<b>']]);
    expect(arqueroBundle['text/html']).toContain('&lt;b&gt;');
  });

  it('table() honours a custom preview size and turns big integers into JSON numbers or strings', () => {
    const data = tableFromArrays({ n: new BigInt64Array([1n, 2n ** 62n, 3n]) });
    const payload = mimeBundleOf(table(data, { previewRows: 2 }))[TABLE_MIME] as TablePayload;
    expect(payload.rows).toEqual([[1], ['4611686018427387904']]);
    expect(payload.truncated).toBe(true);
  });
});
