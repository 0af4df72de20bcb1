// Runs compiled cells (compiler/cell-transform.ts) in the kernel's own context: each cell is a
// function called with the notebook's scope, so cells share names without sharing globals.
// A cell stops at SIGINT while it computes (breakOnSigint) and while it awaits (`interrupt`).
import { SourceMap } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import type { CompiledCell } from '../compiler/cell-compiler.js';
import { CELL_PARAMETERS } from '../compiler/cell-parameters.js';
import { forgetEditedTypeScriptFiles } from './notebook-require.js';

const ARGUMENTS = 'tandem.cellArguments';
const isNamespace = (value: unknown) => Object.prototype.toString.call(value) === '[object Module]';

/** The helpers compiled cells call: ES module interop as TypeScript's `esModuleInterop` defines it. */
function cellRuntime(load: NodeJS.Require, dir: string) {
  const importNamespace = (module: any): any => {
    if (module && (module.__esModule || isNamespace(module))) return module;
    const namespace: Record<string, unknown> = { default: module };
    if (module && (typeof module === 'object' || typeof module === 'function')) {
      for (const key of Object.keys(module)) {
        if (key !== 'default') Object.defineProperty(namespace, key, { enumerable: true, get: () => module[key] });
      }
    }
    return namespace;
  };
  return {
    importNamespace,
    importDefault: (module: any) => (module && (module.__esModule || isNamespace(module)) ? module.default : module),
    import: (specifier: string) => Promise.resolve().then(() => importNamespace(load(specifier))),
    importMeta: { url: pathToFileURL(path.join(dir, path.sep)).href, dirname: dir, filename: path.join(dir, '__notebook__.ts') },
  };
}

/** Where a stack frame of a compiled cell is in the cell the user wrote. */
export interface CellLocation {
  /** The execution count of the cell. */
  count: number;
  line: number;
  column: number;
}

export class CellRunner {
  /** The notebook's names: compiled cells read and write them as properties. */
  private readonly scope: Record<string, unknown> = Object.create(null);
  private readonly runtime: ReturnType<typeof cellRuntime>;
  private readonly module = { exports: {} };
  private readonly sourceMaps = new Map<string, { count: number; map: SourceMap }>();
  private readonly waiting = new Set<(error: Error) => void>();
  private runs = 0;

  constructor(
    readonly dir: string,
    private readonly load: NodeJS.Require,
  ) {
    this.runtime = cellRuntime(load, dir);
  }

  /** Runs a cell; resolves with the value of its last expression statement, if it ends with one. */
  async run(cell: CompiledCell, count: number): Promise<{ value?: unknown }> {
    forgetEditedTypeScriptFiles(this.load.cache);
    const filename = `tandem-cell-${++this.runs}.js`;
    this.sourceMaps.set(filename, { count, map: new SourceMap(JSON.parse(cell.sourceMap)) });
    // The function is called inside the script, so that breakOnSigint covers the cell's own code.
    const source =
      `(${cell.async ? 'async ' : ''}function (${CELL_PARAMETERS.join(', ')}) {"use strict";\n${cell.js}\n})` +
      `.apply(undefined, globalThis[Symbol.for(${JSON.stringify(ARGUMENTS)})])`;
    const args = [this.scope, this.runtime, this.load, this.module, this.module.exports, path.join(this.dir, '__notebook__.ts'), this.dir];
    (globalThis as Record<symbol, unknown>)[Symbol.for(ARGUMENTS)] = args;
    let result: unknown = new vm.Script(source, { filename }).runInThisContext({ breakOnSigint: true });
    if (cell.async) result = await this.interruptible(result as Promise<unknown>);
    return Array.isArray(result) ? { value: result[0] } : {};
  }

  private interruptible(promise: Promise<unknown>): Promise<unknown> {
    let stop!: (error: Error) => void;
    const interrupted = new Promise<never>((_, reject) => (stop = reject));
    this.waiting.add(stop);
    return Promise.race([promise, interrupted]).finally(() => this.waiting.delete(stop));
  }

  /** Stops the cell awaiting now, if any (a cell computing is stopped by SIGINT itself). */
  interrupt(): void {
    for (const stop of this.waiting) stop(new Error('Interrupted asynchronously'));
  }

  /** The cell position of a line and column (1-based) in a compiled cell's script, if `file` is one. */
  locate(file: string, line: number, column: number): CellLocation | undefined {
    const compiled = this.sourceMaps.get(file);
    if (!compiled) return undefined;
    // The script's first line is the function it wraps the compiled cell in.
    const found = compiled.map.findEntry(line - 2, column - 1);
    if (!('originalLine' in found)) return undefined;
    return { count: compiled.count, line: found.originalLine + 1, column: found.originalColumn + 1 };
  }
}
