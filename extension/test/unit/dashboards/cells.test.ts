// How the Publish dialog names and preselects a notebook's cells, and the title it suggests; the
// dialog itself is driven in Chromium (test/browser/dashboards.test.ts).
import { describe, expect, it } from 'vitest';
import { describeCells, firstHeading, selectionOf, type NotebookCell } from '../../../src/dashboards/cells';

const md = (source: string | string[]): NotebookCell => ({ cell_type: 'markdown', source });
const code = (source: string, execution_count: number | null, outputs: NotebookCell['outputs'] = []): NotebookCell => ({
  cell_type: 'code',
  source,
  execution_count,
  outputs,
});
const stream = (text: string) => ({ output_type: 'stream', text });
const markdownResult = (text: string) => ({ output_type: 'execute_result', data: { 'text/markdown': text, 'text/plain': text } });

describe('describeCells', () => {
  it('numbers code cells by execution count as JupyterLab’s prompt does, not by position', () => {
    const rows = describeCells([md('# Title'), code('a', 3, [stream('x')]), code('b', null), code('c', 1, [stream('y')])]);
    expect(rows.map((r) => r.label)).toEqual(['md', '[3]', '[ ]', '[1]']);
    expect(rows.map((r) => r.index)).toEqual([0, 1, 2, 3]);
  });

  it('chooses markdown with text and code with outputs at first', () => {
    const rows = describeCells([md('# Title'), md('  '), code('a', 1, [stream('x')]), code('b', 2), { cell_type: 'raw', source: 'r' }]);
    expect(rows.map((r) => r.chosen)).toEqual([true, false, true, false, false]);
  });

  it('marks the cell that calls dashboards.publish, and one showing “Published version…”, as never shown', () => {
    const rows = describeCells([
      code('byOrigin', 1, [stream('table')]),
      code("const published = await dashboards.publish({ slug: 'x', title: 'X', outputs: [] });", 2, [markdownResult('ok')]),
      code('md(answer)', 3, [markdownResult('Published version 4: [open the dashboard](http://x/tandem/d/x)')]),
      code('console.log(note)', 4, [stream('Published version 2 of the report is older')]),
      md('We published version 2 last week.'),
    ]);
    expect(rows.map((r) => [r.publishes, r.chosen])).toEqual([
      [false, true],
      [true, false],
      [true, false],
      [true, false],
      [false, true],
    ]);
  });

  it('previews the first line of the source, cut at 80 characters', () => {
    const [row] = describeCells([code(`${'x'.repeat(100)}\nsecond`, 1)]);
    expect(row!.preview).toBe(`${'x'.repeat(80)}…`);
  });
});

describe('selectionOf', () => {
  it('sends the ticked cells with their code choice, and never a publishing cell, whatever its ticks', () => {
    const rows = describeCells([md('# T'), code('a', 1, [stream('x')]), code('dashboards.publish({})', 2), code('b', 3)]);
    const ticks = rows.map((cell) => ({ cell, show: true, code: cell.index === 1 || cell.index === 0 }));
    ticks[3]!.show = false;
    expect(selectionOf(ticks)).toEqual([
      { index: 0, code: false, outputs: true },
      { index: 1, code: true, outputs: true },
    ]);
  });
});

describe('firstHeading', () => {
  it('is the first markdown heading of the notebook, as plain text', () => {
    expect(firstHeading([code('# not markdown', 1), md('intro\n\n## Fuel **economy** `by` [origin](http://x)  ##'), md('# Later')])).toBe(
      'Fuel economy by origin',
    );
    expect(firstHeading([md(['Quarterly numbers\n', '=================\n'])])).toBe('Quarterly numbers');
    expect(firstHeading([md('# sales_by_region')])).toBe('sales_by_region');
  });

  it('is undefined without one, so the dialog falls back to the file name', () => {
    expect(firstHeading([md('just text'), md('#hashtag is not a heading'), code('x', 1)])).toBeUndefined();
    expect(firstHeading([md('#   ')])).toBeUndefined();
  });
});
