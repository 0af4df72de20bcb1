// The SDK as users meet it: imported in cells of a running kernel.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputOf, runCells, type StepResult } from '../support/jupyter.js';

describe('the Tandem SDK inside kernel cells', () => {
  let results: StepResult[];

  beforeAll(async () => {
    results = await runCells([
      {
        code: "import { sql, plot, md } from '@tandem/kernel';\nimport * as Plot from '@observablehq/plot';\nconst min: number = 2;\nawait sql`select i from range(5) t(i) where i > ${min}`",
      },
      { code: "plot({ marks: [Plot.barY([{ k: 'a', v: 3 }], { x: 'k', y: 'v' })] })" },
      { code: "md('**bold**')" },
      { code: 'await sql`select count(*) from range(100000000000) a(i)`', interrupt_after: 3 },
      { code: 'await sql`select 7 as seven`' },
    ]);
  }, 120_000);

  it('shows a query result as a table with a bounded preview and a text fallback', () => {
    const data = outputOf(results[0], 'execute_result')!.content.data;
    expect(data['application/vnd.tandem.table+json']).toMatchObject({
      rowCount: 2,
      rows: [[3], [4]],
      columns: [{ name: 'i', type: 'Int64' }],
    });
    expect(data['text/plain']).toContain('(2 rows × 1 columns)');
  });

  it('renders Plot figures as SVG and md() as markdown', () => {
    expect(outputOf(results[1], 'execute_result')!.content.data['image/svg+xml']).toMatch(
      /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
    );
    expect(outputOf(results[2], 'execute_result')!.content.data['text/markdown']).toBe('**bold**');
  });

  it('shows elapsed time while a long query runs, and interrupting it cancels the query', () => {
    const progress = results[3].outputs.filter((o) => o.msg_type === 'display_data' || o.msg_type === 'update_display_data');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0].content.data['text/plain']).toMatch(/^sql: running for \d+\.\d s/);
    expect(results[3].reply).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    expect(outputOf(results[4], 'execute_result')!.content.data['application/vnd.tandem.table+json'].rows).toEqual([[7]]);
  });
});

describe('a notebook outside the repository', () => {
  let dir: string;
  let results: StepResult[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-notebook-'));
    await writeFile(path.join(dir, 'sales.csv'), 'region,amount\nnorth,3\nsouth,4\nnorth,5\n');
    results = await runCells(
      [
        {
          code: "import { sql } from '@tandem/kernel';\nimport type { Table } from 'apache-arrow';\nconst totals: Table = await sql`select region, sum(amount)::INT as total from 'sales.csv' group by region order by region`;\ntotals.toArray().map((r) => `${r.region}=${r.total}`).join(' ')",
        },
        { code: "import * as aq from 'arquero';\naq.table({ n: [1, 2, 3] }).rollup({ s: aq.op.sum('n') }).object()" },
        // The SDK's types come from the API contract ('@tandem/server/api', a subpath export).
        {
          code: "import type { JobInfo, RegisteredModelVersion } from '@tandem/kernel';\nconst status: JobInfo['status'] = 'queued';\nconst version: RegisteredModelVersion['number'] = 'one';",
        },
      ],
      'tandem',
      dir,
    );
  }, 120_000);

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('imports the SDK and its libraries with types, and reads files next to the notebook', () => {
    expect(results[0].reply.status).toBe('ok');
    expect(outputOf(results[0], 'execute_result')!.content.data['text/plain']).toBe("'north=8 south=4'");
    expect(outputOf(results[1], 'execute_result')!.content.data['text/plain']).toBe('{ s: 6 }');
  });

  it('type-checks cells against the API contract types the SDK exports, not against any', () => {
    expect(results[2].reply).toMatchObject({ status: 'error', ename: 'TypeScriptError' });
    expect(results[2].reply.evalue).toBe("cell line 3, column 7: Type 'string' is not assignable to type 'number'.");
  });
});
