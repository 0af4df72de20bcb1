import { describe, expect, it } from 'vitest';
import { completenessOf } from '../../src/compiler/completeness.js';

describe('whether typed code is complete', () => {
  it('calls statements and empty code complete', () => {
    for (const code of ['1 + 1', 'const x = 1;', 'function f() {\n  return 1;\n}', '', '`a ${1} b`']) {
      expect(completenessOf(code)).toEqual({ status: 'complete' });
    }
  });

  it('waits for more in an open block, an open template or an expression cut short, indented by the open blocks', () => {
    expect(completenessOf('function f() {\n  if (x) {')).toEqual({ status: 'incomplete', indent: '    ' });
    expect(completenessOf('`a ${b')).toMatchObject({ status: 'incomplete' });
    expect(completenessOf('const x =')).toMatchObject({ status: 'incomplete' });
  });

  it('calls code with an error before its end invalid', () => {
    expect(completenessOf('1 +* 2')).toEqual({ status: 'invalid' });
  });
});
