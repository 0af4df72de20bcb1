// monitor as users meet it: imported in a cell of a running kernel.
import { beforeAll, describe, expect, it } from 'vitest';
import { outputOf, runCells, type StepResult } from '../support/jupyter.js';

describe('monitor.drift, monitor.quality and check inside kernel cells', () => {
  let results: StepResult[];

  beforeAll(async () => {
    results = await runCells([
      {
        code: [
          "import { monitor } from '@tandem/kernel';",
          "await monitor.drift('select range::DOUBLE as x, range % 3 as k from range(100)', 'select (range + 50)::DOUBLE as x, range % 3 as k from range(100)')",
        ].join('\n'),
      },
      { code: "await monitor.drift('select 1 as x', 'select 2 as x', { method: 'kl' as 'ks' })" },
      { code: "import { check } from '@tandem/kernel';\nawait check('select range as id from range(3)').unique('id').notNull('id')" },
      { code: "await check('select 1 as id union all select 1').unique('id').assert()" },
      { code: "await monitor.quality('select 1 as id union all select 1', { reference: 'select 0 as id' })" },
    ]);
  }, 120_000);

  it('shows the verdict above the per-column table', () => {
    const data = outputOf(results[0], 'execute_result')!.content.data;
    expect(data['text/html']).toMatch(/^<p><strong>Drift in 1 of 2 columns \(50%\): dataset drift/);
    expect(data['text/plain']).toMatch(/\nx\s+numeric\s+ks\s/);
  });

  it('fails the cell with the bad option named', () => {
    expect(results[1].reply).toMatchObject({ status: 'error', evalue: expect.stringContaining('option "method"') });
  });

  it('shows data checks as a verdict and a table, and a failed assert() fails the cell', () => {
    expect(outputOf(results[2], 'execute_result')!.content.data['text/plain']).toMatch(/^All 2 checks passed on 3 rows\n/);
    expect(results[3].reply).toMatchObject({ status: 'error', evalue: expect.stringContaining('unique(id) (1 row, e.g. 1)') });
  });

  it('shows a quality report as its rows and duplicates above a table of the columns', () => {
    const text = outputOf(results[4], 'execute_result')!.content.data['text/plain'];
    expect(text).toMatch(/^2 rows, 1 duplicate rows\n/);
    expect(text).toMatch(/out of range/);
  });
});
