// A notebook compiled and run in this process (no kernel, no sockets): the compiler and the cell
// runner the kernel uses, on the kernel's own folder.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CellCompiler, type CompileOutcome } from '../../src/compiler/cell-compiler.js';
import { CellRunner } from '../../src/kernel/cell-runner.js';
import { notebookRequire } from '../../src/kernel/notebook-require.js';

const kernelDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface InProcessNotebook {
  compiler: CellCompiler;
  /** Compiles and runs a cell; resolves with its diagnostics, or the value it shows. */
  run(code: string): Promise<{ outcome: CompileOutcome; value?: unknown }>;
}

export function inProcessNotebook(): InProcessNotebook {
  const compiler = new CellCompiler({
    dir: kernelDir,
    kernelDir,
    typeRoots: [path.resolve(kernelDir, '../node_modules/@types')],
    overrides: { tslab: path.join(kernelDir, 'dist/src/tslab.d.ts') },
  });
  const runner = new CellRunner(kernelDir, notebookRequire(kernelDir, { tslab: path.join(kernelDir, 'dist/src/tslab.js') }));
  let count = 0;
  return {
    compiler,
    async run(code) {
      const outcome = compiler.compile(code);
      if (!outcome.ok) return { outcome };
      return { outcome, ...(await runner.run(outcome, ++count)) };
    },
  };
}
