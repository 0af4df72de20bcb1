// The kernel driven by jupyter_client, exactly as JupyterLab and nbclient talk to it.
import { beforeAll, describe, expect, it } from 'vitest';
import { outputOf, runCells, streamText, type StepResult } from '../support/jupyter.js';

describe('the Tandem kernel through a real Jupyter client', () => {
  let results: StepResult[];

  beforeAll(async () => {
    results = await runCells([
      { code: "for (let i = 0; i < 5000; i++) console.log('line', i);" },
      { code: 'const answer: number = 41;\nanswer + 1' },
      { code: "let a = 1;\nconst wrong: number = 'text';" },
      { code: "const z = 1;\nfunction explode(): never {\n  throw new TypeError('boom');\n}\nexplode();" },
      { code: "'runs after an error'" },
      { code: 'while (true) {}', interrupt_after: 2 },
      { code: 'await new Promise((resolve) => setTimeout(resolve, 60_000));', interrupt_after: 2 },
      { code: "console.log('alive'); 1 + 1" },
      { code: "throw new RangeError('stops Run All')", queued: true },
      { code: "console.log('queued behind the error')" },
    ]);
  }, 120_000);

  it('delivers all 5,000 console.log lines of one cell and reaches idle', () => {
    const [cell] = results;
    const lines = streamText(cell).trimEnd().split('\n');
    expect(lines).toHaveLength(5000);
    expect(lines.at(-1)).toBe('line 4999');
    expect(cell.idle).toBe(true);
    expect(cell.reply.status).toBe('ok');
  });

  it('returns the last expression as an execute_result with text/plain', () => {
    expect(outputOf(results[1], 'execute_result')?.content.data['text/plain']).toBe('42');
    expect(streamText(results[1])).toBe('');
  });

  it('reports a type error as an iopub error and an error reply naming the cell line', () => {
    const error = outputOf(results[2], 'error')!.content;
    expect(error.ename).toBe('TypeScriptError');
    expect(error.evalue).toContain('line 2');
    expect(error.evalue).toContain("Type 'string' is not assignable to type 'number'");
    expect(results[2].reply).toMatchObject({ status: 'error', ename: 'TypeScriptError' });
    expect(results[2].reply.traceback.join('\n')).toContain('line 2');
  });

  it('reports a runtime error with its name, message and the cell line that threw', () => {
    const error = outputOf(results[3], 'error')!.content;
    expect(error).toMatchObject({ ename: 'TypeError', evalue: 'boom' });
    expect(error.traceback.join('\n')).toContain('cell line 3');
    expect(results[3].reply).toMatchObject({ status: 'error', ename: 'TypeError', evalue: 'boom' });
  });

  it('runs the next cell right after an error', () => {
    expect(results[4].reply.status).toBe('ok');
    expect(outputOf(results[4], 'execute_result')?.content.data['text/plain']).toBe("'runs after an error'");
  });

  it('aborts cells queued behind a failing cell, as Run All expects', () => {
    expect(results[8].reply).toMatchObject({ status: 'error', ename: 'RangeError' });
    expect(results[9].reply.status).toBe('aborted');
    expect(results[9].outputs).toEqual([]);
  });

  it('interrupts a busy synchronous loop and an awaited promise with SIGINT', () => {
    for (const cell of [results[5], results[6]]) {
      expect(cell.reply).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
      expect(cell.idle).toBe(true);
    }
    expect(streamText(results[7])).toBe('alive\n');
    expect(outputOf(results[7], 'execute_result')?.content.data['text/plain']).toBe('2');
  });
});
