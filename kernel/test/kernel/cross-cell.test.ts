// Declarations of earlier cells, used by later cells in every way TypeScript allows. Only the
// Jupyter protocol is used, so the battery holds for whichever executor runs the cells.
import { beforeAll, describe, expect, it } from 'vitest';
import { outputOf, runCells, type StepResult } from '../support/jupyter.js';

/** The cells of one kernel session by name, each run once, in order. */
type Session = Record<string, StepResult>;

async function runSession(cells: [name: string, code: string][]): Promise<Session> {
  const results = await runCells(cells.map(([, code]) => ({ code })));
  return Object.fromEntries(cells.map(([name], i) => [name, results[i]]));
}

/** The value a cell showed (its execute_result text), after checking that the cell succeeded. */
function shown(result: StepResult): string {
  expect(result.reply, JSON.stringify(result.reply.evalue)).toMatchObject({ status: 'ok' });
  return outputOf(result, 'execute_result')?.content.data['text/plain'];
}

function succeeded(result: StepResult): void {
  expect(result.reply, JSON.stringify(result.reply.evalue)).toMatchObject({ status: 'ok' });
}

describe('declarations of earlier cells in later cells', () => {
  let cell: Session;

  beforeAll(async () => {
    cell = await runSession([
      ['issue', "const data = 'x'; const a = 1; const obj = {b: 2}; const arr = [1,2]; function g() {}"],
      ['shorthand', '({ data })'],
      ['spreadAndShorthand', '({ ...obj, a })'],
      ['shorthandFunction', '({ g })'],
      ['shorthandInArrow', 'arr.map(x => ({ x, a }))'],
      ['shorthandInFunction', "function pack() {\n  return { data, nested: { a, g }, own: 'y' };\n}\npack()"],
      ['spread', '[[...arr, a], [...arr.map((x) => x * 10)], { ...obj, c: 3 }, { ...obj, b: 5 }, Math.max(...arr), [...data]]'],

      [
        'destructure',
        'const { b: fromObj } = obj;\nconst { b, missing = data, ...restObj } = { ...obj, z: 26 };\nconst [first, , third = a + 10, ...restArr] = arr;',
      ],
      ['destructured', '[fromObj, b, missing, restObj, first, third, restArr]'],
      ['pointType', 'interface Point {\n  x: number;\n  y: number;\n}\nconst origin: Point = { x: 3, y: 4 };'],
      [
        'destructureTyped',
        'const { x: px, y: py = 0 } = origin;\nconst length = ({ x: dx, y: dy }: Point) => Math.hypot(dx, dy);\n[px, py, length(origin)]',
      ],
      ['destructureLets', 'let p = 0;\nlet q = 0;'],
      ['destructureAssign', '({ p, q = 9 } = { p: 4 });\n[p, q]'],
      ['destructureSwap', "[p, q] = [q, p];\n[p, q, 'p' in globalThis, 'q' in globalThis]"],

      ['closures', 'let count = 0;\nfunction bump() {\n  return ++count;\n}\nconst greet = (name: string) => `${data}:${name}:${a}`;'],
      ['closuresCalled', "[bump(), bump(), count, greet('z')]"],
      ['counterSet', 'count = 100;\nbump()'],
      ['counterIncremented', 'count += 5;\n[count, bump(), count]'],
      [
        'counterFactory',
        'const makeCounter = (start: number) => {\n  let n = start;\n  return () => ++n;\n};\nconst tick = makeCounter(a * 10);',
      ],
      ['counterTicks', 'tick();\ntick()'],
      ['counterTicksAgain', 'tick()'],

      [
        'classes',
        'class Shape {\n  static made = 0;\n  static unit = data;\n  constructor(public size: number) {\n    Shape.made++;\n  }\n  area() {\n    return this.size * a;\n  }\n}',
      ],
      [
        'subclass',
        'class Square extends Shape {\n  override area() {\n    return super.area() * this.size;\n  }\n}\nconst sq = new Square(3);',
      ],
      ['classesUsed', '[sq.area(), new Shape(2).area(), Shape.made, Square.unit, sq instanceof Shape, { sq }.sq === sq]'],

      [
        'enums',
        "enum Color {\n  Red = 'red',\n  Green = 'green',\n}\nenum Level {\n  Low = 1,\n  High,\n}\nconst enum Dir {\n  Up = 10,\n  Down = 20,\n}",
      ],
      [
        'enumsUsed',
        'const pick = (c: Color) => ({ c, up: Dir.Up });\n[pick(Color.Green), Level.High, Level[2], Dir.Down, Object.keys({ Color })]',
      ],

      [
        'functions',
        'const double = (x: number) => x * 2;\nfunction plusA(x: number) {\n  return x + a;\n}\nconst isOdd = (x: number) => x % 2 === 1;',
      ],
      ['functionsPassed', '[arr.map(double), arr.map(plusA), [1, 2, 3].filter(isOdd), [arr].map(([x]) => double(x))]'],

      ['version1', 'const version = 1;'],
      ['version1Seen', 'version'],
      ['version1Again', 'const version = 1;'],
      ['version1SeenAgain', 'version + 1'],
      ['version2', 'const version = 2;'],
      ['version2Seen', '[version * 10, { version }]'],

      ['grid', 'const grid = [\n  [1, 2, 3],\n  [4, 5, 6],\n  [7, 8, 9],\n];'],
      [
        'labels',
        'const hits: number[] = [];\nrows: for (const row of grid) {\n  for (const v of row) {\n    if (v % 2 === 0) continue rows;\n    if (v > 7) break rows;\n    hits.push(v + a);\n  }\n}\ndata: {\n  if (hits.length > 0) break data;\n  hits.push(-1);\n}\n[hits, data]',
      ],

      ['typeofTypes', 'type Obj = typeof obj;\nconst copy: Obj = { b: a + 1 };\nlet same: typeof a = a;\n[copy, same]'],
      ['typeofValues', '[typeof data, typeof g, typeof arr, typeof Shape, typeof Color, typeof count]'],

      [
        'tag',
        "function shout(strings: TemplateStringsArray, ...values: unknown[]) {\n  return strings.raw.map((s, i) => s + (i < values.length ? String(values[i]).toUpperCase() : '')).join('');\n}",
      ],
      ['templates', '[`${data}-${a}-${obj.b}-${arr}`, shout`say ${data} and ${greet(`${a}`)}`, `${{ a }.a}`]'],
    ]);
  }, 120_000);

  it("resolves a shorthand property naming an earlier cell's const", () => {
    expect(shown(cell.shorthand)).toBe("{ data: 'x' }");
  });

  it('resolves the issue examples: spread with a shorthand, a function shorthand, shorthands inside an arrow', () => {
    expect(shown(cell.spreadAndShorthand)).toBe('{ b: 2, a: 1 }');
    expect(shown(cell.shorthandFunction)).toBe('{ g: [Function: g] }');
    expect(shown(cell.shorthandInArrow)).toBe('[ { x: 1, a: 1 }, { x: 2, a: 1 } ]');
  });

  it('resolves shorthands in a function declared in a later cell, nested among own properties', () => {
    expect(shown(cell.shorthandInFunction)).toBe("{ data: 'x', nested: { a: 1, g: [Function: g] }, own: 'y' }");
  });

  it("spreads earlier cells' arrays, objects and strings", () => {
    expect(shown(cell.spread)).toBe("[ [ 1, 2, 1 ], [ 10, 20 ], { b: 2, c: 3 }, { b: 5 }, 2, [ 'x' ] ]");
  });

  it("destructures earlier cells' objects and arrays, with renames, defaults and rests", () => {
    succeeded(cell.destructure);
    expect(shown(cell.destructured)).toBe("[ 2, 2, 'x', { z: 26 }, 1, 11, [] ]");
    succeeded(cell.pointType);
    expect(shown(cell.destructureTyped)).toBe('[ 3, 4, 5 ]');
  });

  it("assigns to earlier cells' variables by destructuring, without creating globals", () => {
    succeeded(cell.destructureLets);
    expect(shown(cell.destructureAssign)).toBe('[ 4, 9 ]');
    expect(shown(cell.destructureSwap)).toBe('[ 9, 4, false, false ]');
  });

  it('calls functions of an earlier cell that capture that cell’s variables', () => {
    succeeded(cell.closures);
    expect(shown(cell.closuresCalled)).toBe("[ 1, 2, 2, 'x:z:1' ]");
  });

  it('shares a counter between the closure that increments it and later cells that set it', () => {
    expect(shown(cell.counterSet)).toBe('101');
    expect(shown(cell.counterIncremented)).toBe('[ 106, 107, 107 ]');
  });

  it('keeps the state of a counter closure across the cells that call it', () => {
    succeeded(cell.counterFactory);
    expect(shown(cell.counterTicks)).toBe('12');
    expect(shown(cell.counterTicksAgain)).toBe('13');
  });

  it('instantiates and extends a class of an earlier cell and reads its static members', () => {
    succeeded(cell.classes);
    succeeded(cell.subclass);
    expect(shown(cell.classesUsed)).toBe("[ 9, 2, 2, 'x', true, true ]");
  });

  it('uses regular and const enums of an earlier cell', () => {
    succeeded(cell.enums);
    expect(shown(cell.enumsUsed)).toBe("[ { c: 'green', up: 10 }, 2, 'High', 20, [ 'Color' ] ]");
  });

  it('passes functions of an earlier cell as values', () => {
    succeeded(cell.functions);
    expect(shown(cell.functionsPassed)).toBe('[ [ 2, 4 ], [ 2, 3 ], [ 1, 3 ], [ 2 ] ]');
  });

  it('re-declares a const when its cell runs again, and later cells see the new value', () => {
    expect(shown(cell.version1Seen)).toBe('1');
    succeeded(cell.version1Again);
    expect(shown(cell.version1SeenAgain)).toBe('2');
    succeeded(cell.version2);
    expect(shown(cell.version2Seen)).toBe('[ 20, { version: 2 } ]');
  });

  it('breaks and continues labeled statements over earlier variables, even a label named like one', () => {
    succeeded(cell.grid);
    expect(shown(cell.labels)).toBe("[ [ 2, 8 ], 'x' ]");
  });

  it("takes typeof of earlier cells' values, in type annotations and at run time", () => {
    expect(shown(cell.typeofTypes)).toBe('[ { b: 2 }, 1 ]');
    expect(shown(cell.typeofValues)).toBe("[ 'string', 'function', 'object', 'function', 'object', 'number' ]");
  });

  it('interpolates earlier variables in template literals and tags templates with an earlier function', () => {
    succeeded(cell.tag);
    expect(shown(cell.templates)).toBe("[ 'x-1-2-1,2', 'say X and X:1:1', '1' ]");
  });
});

describe('error positions in cells with rewritten shorthands', () => {
  let cell: Session;
  const sameLine = "const mixed = { base, spare }; const oops: number = 'text';";

  beforeAll(async () => {
    cell = await runSession([
      ['declare', 'const base = 1;\nlet spare = 0;'],
      ['typeErrorBelow', "const shaped = { base };\nconst fine = { spare, base };\nconst wrong: number = 'text';"],
      ['typeErrorSameLine', sameLine],
      ['unknownShorthand', 'const known = 1;\nconst o = { known, nowhere };'],
      ['runtimeError', "const pair = { base, spare };\n\nthrow new RangeError('after the shorthand');"],
      ['initializerOutsidePattern', '({ spare = 5 });'],
      ['spareUnchanged', 'spare'],
    ]);
  }, 120_000);

  it('reports a type error below a shorthand on its own line', () => {
    succeeded(cell.declare);
    expect(cell.typeErrorBelow.reply).toMatchObject({ status: 'error', ename: 'TypeScriptError' });
    expect(cell.typeErrorBelow.reply.evalue).toBe("cell line 3, column 7: Type 'string' is not assignable to type 'number'.");
  });

  it('reports the column the user wrote for a type error after shorthands on the same line', () => {
    const column = sameLine.indexOf('oops') + 1;
    expect(cell.typeErrorSameLine.reply.evalue).toBe(`cell line 1, column ${column}: Type 'string' is not assignable to type 'number'.`);
  });

  it('points at a shorthand naming nothing', () => {
    expect(cell.unknownShorthand.reply).toMatchObject({ status: 'error', ename: 'TypeScriptError' });
    expect(cell.unknownShorthand.reply.evalue).toMatch(/^cell line 2, column 20: .*'nowhere'/);
  });

  it('reports the cell line of a runtime error after a shorthand', () => {
    expect(cell.runtimeError.reply).toMatchObject({ status: 'error', ename: 'RangeError', evalue: 'after the shorthand' });
    expect(cell.runtimeError.reply.traceback.join('\n')).toContain('cell line 3');
  });

  it('still rejects a shorthand initializer outside a destructuring assignment', () => {
    expect(cell.initializerOutsidePattern.reply).toMatchObject({ status: 'error', ename: 'TypeScriptError' });
    expect(shown(cell.spareUnchanged)).toBe('0');
  });
});
