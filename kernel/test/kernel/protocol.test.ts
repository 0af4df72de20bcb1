// The requests besides execute that JupyterLab and consoles send, answered from the cells run so far.
import { beforeAll, describe, expect, it } from 'vitest';
import { runCells, type StepResult } from '../support/jupyter.js';

describe('completion, inspection, is_complete and history through a real Jupyter client', () => {
  let results: StepResult[];

  beforeAll(async () => {
    results = await runCells([
      { code: '/** The answer, squared. */\nfunction squared(x: number): number {\n  return x * x;\n}\nconst squares = [1, 4];' },
      { code: 'squared(3)' },
      { msg_type: 'complete_request', content: { code: 'squa', cursor_pos: 4 } },
      { msg_type: 'inspect_request', content: { code: 'squared(2)', cursor_pos: 3, detail_level: 0 } },
      { msg_type: 'is_complete_request', content: { code: 'function f() {' } },
      { msg_type: 'is_complete_request', content: { code: 'squared(2)' } },
      { msg_type: 'history_request', content: { hist_access_type: 'tail', n: 1, output: true, raw: true } },
      { msg_type: 'history_request', content: { hist_access_type: 'search', pattern: 'squared(*', output: false, raw: true } },
    ]);
  }, 120_000);

  it('completes names declared by earlier cells', () => {
    expect(results[2]!.reply).toMatchObject({ status: 'ok', matches: ['squared', 'squares'], cursor_start: 0, cursor_end: 4 });
  });

  it('inspects a function of an earlier cell with its JSDoc', () => {
    expect(results[3]!.reply).toMatchObject({ status: 'ok', found: true });
    expect(results[3]!.reply.data['text/plain']).toBe('squared(x: number): number\n\nThe answer, squared.');
  });

  it('tells complete code from code still open', () => {
    expect(results[4]!.reply).toMatchObject({ status: 'incomplete', indent: '  ' });
    expect(results[5]!.reply).toMatchObject({ status: 'complete' });
  });

  it('answers history with inputs and outputs of this session', () => {
    expect(results[6]!.reply.history).toEqual([[1, 2, ['squared(3)', '9']]]);
    expect(results[7]!.reply.history).toEqual([[1, 2, 'squared(3)']]);
  });
});
