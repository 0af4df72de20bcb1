import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { declarationsOf, NAMESPACE, TYPE, VALUE } from '../../src/compiler/declarations.js';

const cell = (code: string) => declarationsOf(ts.createSourceFile('cell.ts', code, ts.ScriptTarget.ES2022, true));

describe("the names a cell declares, and the meanings in which they hide an earlier cell's", () => {
  const found = cell(
    [
      'const a = 1;',
      'function f() {}',
      'class C {}',
      'interface I {}',
      'enum E { One }',
      'namespace N {}',
      "import { x } from 'm';",
      'if (a) { var v = 2; }',
    ].join('\n'),
  );

  it('gives each name every meaning it may have, for later cells', () => {
    const meanings = Object.fromEntries(found.declared.map((d) => [d.name, d.meanings]));
    expect(meanings).toEqual({
      a: VALUE,
      f: VALUE,
      C: VALUE | TYPE,
      I: TYPE,
      E: VALUE | TYPE | NAMESPACE,
      N: VALUE | TYPE | NAMESPACE,
      x: VALUE | TYPE | NAMESPACE,
      v: VALUE,
    });
  });

  it('hides only the meanings the cell surely declares: an import hides nothing', () => {
    expect(Object.fromEntries(found.hides)).toEqual({
      a: VALUE,
      f: VALUE,
      C: VALUE | TYPE,
      I: TYPE,
      E: VALUE | TYPE,
      N: NAMESPACE,
      x: 0,
      v: VALUE,
    });
  });
});
