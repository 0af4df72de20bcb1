import { describe, expect, it } from 'vitest';
import { extractContent, ERROR_MIME, TABLE_MIME } from '../../src/dashboards/content.js';
import { sampleNotebook } from './support.js';

describe('extractContent()', () => {
  it('shows markdown and every output but no code by default', () => {
    const { blocks } = extractContent(sampleNotebook());
    expect(blocks.map((b) => (b.kind === 'output' ? b.mime : b.kind))).toEqual([
      'markdown',
      TABLE_MIME,
      'image/svg+xml',
      'text/plain',
      'text/html',
    ]);
    expect(JSON.stringify(blocks)).not.toContain('salaries');
  });

  it('keeps code only for cells chosen with code', () => {
    const { blocks } = extractContent(sampleNotebook(), [{ index: 1, code: true }, { index: 3 }]);
    expect(blocks[0]).toEqual({ kind: 'code', text: 'const secret = "SELECT * FROM salaries"; table(q)' });
    expect(blocks.map((b) => b.kind)).toEqual(['code', 'output', 'output']);
  });

  it('merges stdout chunks and drops stderr', () => {
    const { blocks } = extractContent(sampleNotebook(), [{ index: 2 }]);
    expect(blocks[1]).toEqual({ kind: 'output', mime: 'text/plain', data: 'total: 42\n' });
    expect(JSON.stringify(blocks)).not.toContain('internal detail');
  });

  it('shows a failed cell as its error name and message without the traceback', () => {
    const { blocks } = extractContent({
      cells: [
        {
          cell_type: 'code',
          source: 'x',
          outputs: [{ output_type: 'error', ename: 'TypeError', evalue: 'boom', traceback: ['at secret.ts:1'] }],
        },
      ],
    });
    expect(blocks).toEqual([{ kind: 'output', mime: ERROR_MIME, data: { name: 'TypeError', message: 'boom' } }]);
  });

  it('rejects a selection naming a cell the notebook does not have', () => {
    expect(() => extractContent(sampleNotebook(), [{ index: 9 }])).toThrow(/cell 9 does not exist \(the notebook has 4 cells\)/);
  });
});
