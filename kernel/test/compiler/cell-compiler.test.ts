import { beforeAll, describe, expect, it } from 'vitest';
import { inProcessNotebook, type InProcessNotebook } from './support.js';

describe('the cell compiler, compiling and running cells in order', () => {
  let notebook: InProcessNotebook;
  const value = async (code: string) => {
    const { outcome, value } = await notebook.run(code);
    expect(outcome.ok ? 'ok' : outcome.diagnostics).toBe('ok');
    return value;
  };
  const errors = async (code: string) => {
    const { outcome } = await notebook.run(code);
    return outcome.ok ? [] : outcome.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`);
  };

  beforeAll(() => {
    notebook = inProcessNotebook();
  }, 120_000);

  it('type-checks a cell against the types of earlier cells', async () => {
    await value('interface Point { x: number; y: number }\nconst origin: Point = { x: 3, y: 4 };');
    expect(await value('Math.hypot(origin.x, origin.y)')).toBe(5);
    expect(await errors("const label: string = origin.x;\nconst p: Point = { x: 'a', y: 1 };")).toEqual([
      "1:7 Type 'number' is not assignable to type 'string'.",
      "2:20 Type 'string' is not assignable to type 'number'.",
    ]);
  });

  it('runs a cell that declares a const again, and later cells see the new declaration and its new type', async () => {
    await value('const version = 1;');
    await value("const version = 'two';");
    expect(await value('version.toUpperCase()')).toBe('TWO');
  });

  it("re-runs a cell on its own declarations, yet still sees an earlier cell's meanings it does not declare again", async () => {
    await value('class Shape {\n  static sides = 4;\n}\nconst area = (s: number) => s * s;');
    expect(await value('const area = (s: number) => s * s * 2;\narea(3)')).toBe(18);
    // The interface hides the earlier class as a type only: `Shape` the value is still the class.
    expect(await value('interface Shape {\n  name?: string;\n}\nconst named: Shape = {};\nShape.sides')).toBe(4);
    expect(await errors("const area: string = 'square';\narea * 2")).toEqual([
      "2:1 The left-hand side of an arithmetic operation must be of type 'any', 'number', 'bigint' or an enum type.",
    ]);
  });

  it('assigns an earlier let, and rejects assigning an earlier const or a value of the wrong type', async () => {
    await value('let total = 1;\nconst fixed = 2;');
    expect(await value('total += 41;\ntotal')).toBe(42);
    expect(await errors('fixed = 3;')).toEqual(["1:1 Cannot assign to 'fixed' because it is a constant."]);
    expect(await errors("total = 'many';")).toEqual(["1:1 Type 'string' is not assignable to type 'number'."]);
  });

  it('keeps one binding per name for the closures of earlier cells and for later cells', async () => {
    await value('let hits = 0;\nconst hit = () => ++hits;');
    await value('hits = 10;');
    expect(await value('[hit(), hits]')).toEqual([11, 11]);
  });

  it('awaits at the top level and shows a promise the cell evaluates to without awaiting it', async () => {
    expect(await value('await new Promise((resolve) => setTimeout(() => resolve(7), 1))')).toBe(7);
    expect((await notebook.run('Promise.resolve(1)')).value).toBeInstanceOf(Promise);
  });

  it('imports packages and the tslab compatibility module, and requires with require()', async () => {
    expect(await value("import { format } from 'node:util';\nformat('%d!', 3)")).toBe('3!');
    expect(await value("import * as tslab from 'tslab';\ntypeof tslab.newDisplay")).toBe('function');
    expect(await value("const os = require('node:os');\ntypeof os.cpus")).toBe('function');
    expect(await errors("import { nothing } from 'node:util';")).toEqual([expect.stringMatching(/^1:10 .*'nothing'/)]);
  });

  it('leaves a cell that failed to compile out of the notebook', async () => {
    await errors("const broken: number = 'no';");
    expect(await errors('broken')).toEqual(["1:1 Cannot find name 'broken'."]);
  });
});

describe('completions and inspection', () => {
  let notebook: InProcessNotebook;

  beforeAll(async () => {
    notebook = inProcessNotebook();
    await notebook.run(
      '/** How far a point is from the origin. */\nfunction distance(x: number, y: number) {\n  return Math.hypot(x, y);\n}\nconst distances = [1, 2];',
    );
  }, 120_000);

  it("completes names of earlier cells from what was typed, without the compiler's own names", () => {
    const found = notebook.compiler.complete('dist', 4);
    expect(found.matches).toEqual(['distance', 'distances']);
    expect(found).toMatchObject({ start: 0, end: 4 });
    expect(notebook.compiler.complete('__tandem', 8).matches).toEqual([]);
  });

  it('inspects a function of an earlier cell with its signature and JSDoc', () => {
    const info = notebook.compiler.inspect('distance(', 3);
    expect(info?.['text/plain']).toBe('distance(x: number, y: number): number\n\nHow far a point is from the origin.');
  });
});
