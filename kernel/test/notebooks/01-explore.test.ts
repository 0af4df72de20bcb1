// notebooks/01-explore.ipynb, executed headless on the Tandem kernel as CI does.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runNotebook, type NotebookCell } from '../support/jupyter.js';

const TABLE = 'application/vnd.tandem.table+json';

describe('notebooks/01-explore.ipynb', () => {
  let code: NotebookCell[];
  const result = (source: RegExp) => {
    const cell = code.find((c) => source.test(c.source))!;
    return cell.outputs!.find((o) => o.output_type === 'execute_result')!.data!;
  };

  beforeAll(async () => {
    const nb = await runNotebook(path.join(repoRoot, 'notebooks/01-explore.ipynb'));
    code = nb.cells.filter((c) => c.cell_type === 'code');
  }, 180_000);

  it('runs every cell without an error', () => {
    const errors = code.flatMap((c) =>
      c.outputs!.filter((o) => o.output_type === 'error' || (o.output_type === 'stream' && o.text!.includes('Error'))),
    );
    expect(errors).toEqual([]);
  });

  it('queries the 3M-row flights Parquet file of vega-datasets into a table', () => {
    const overview = result(/const overview/)[TABLE];
    expect(overview.columns.map((c: { name: string }) => c.name)).toEqual([
      'flights',
      'airports',
      'first_departure',
      'last_departure',
      'avg_delay_min',
    ]);
    expect(overview.rows[0].slice(0, 2)).toEqual([3_000_000, 229]);
    const airports = result(/const airports/)[TABLE];
    expect(airports.rowCount).toBeGreaterThan(10);
    expect(airports.rows[0][0]).toBe('JFK');
  });

  it('draws the hourly, distance and weather figures as SVG', () => {
    for (const source of [/const byHour/, /const bands/, /const monthly/]) {
      const data = result(source);
      expect(data['image/svg+xml'] ?? data['text/html']).toMatch(/<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
  });

  it('shows arquero tables and sql over them, and ends with a markdown summary', () => {
    expect(result(/const cars/)[TABLE].rows.map((r: unknown[]) => r[0])).toEqual(['Japan', 'Europe', 'USA']);
    expect(result(/corr\(Horsepower/)[TABLE].rowCount).toBe(3);
    expect(result(/md\(/)['text/markdown']).toBe(
      'Of **3,000,000** flights, departures from **JFK** were the most delayed busy airport: **12.3 min** on average.',
    );
  });
});
