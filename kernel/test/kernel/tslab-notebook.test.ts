// A notebook written for tslab (its kernelspec names tslab), run unchanged on the Tandem kernel.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runNotebook, type NotebookCell } from '../support/jupyter.js';

const notebook = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/written-for-tslab.ipynb');

describe('a notebook written for tslab', () => {
  let cells: NotebookCell[];

  beforeAll(async () => {
    ({ cells } = await runNotebook(notebook, 'tandem'));
  }, 120_000);

  const displays = (cell: NotebookCell) => cell.outputs!.filter((o) => o.output_type === 'display_data').map((o) => o.data);

  it('shows tslab.display.html and markdown as one MIME type each, as tslab did', () => {
    expect(displays(cells[0]!)).toEqual([{ 'text/html': '<b>bold</b>' }, { 'text/markdown': '# Title' }]);
  });

  it('sends binary images in base64 and text, SVG and raw types as given', () => {
    expect(displays(cells[1]!)).toEqual([
      { 'image/png': Buffer.from('89504e470d0a1a0a', 'hex').toString('base64') },
      { 'image/svg+xml': '<svg xmlns="http://www.w3.org/2000/svg"></svg>' },
      { 'text/plain': 'plain' },
      { 'application/json': '{"a":1}' },
    ]);
  });

  it('replaces the output of tslab.newDisplay() on every call', () => {
    expect(displays(cells[2]!)).toEqual([{ 'text/plain': 'step 3' }]);
  });

  it('runs typed TypeScript and shows the last value', () => {
    expect(cells[3]!.outputs!.find((o) => o.output_type === 'execute_result')?.data?.['text/plain']).toBe('144');
  });
});
