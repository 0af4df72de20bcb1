// Notebooks live anywhere on disk (a JupyterHub home, a temp dir), not inside this repository, yet
// their cells must import the SDK and the libraries its values come from (apache-arrow, arquero,
// @observablehq/plot) with full types. A notebook's own node_modules always wins; the kernel's
// folders are the fallback, both for Node's `require` and for tslab's TypeScript compiler.
import { createRequire, Module } from 'node:module';
import path from 'node:path';

const PATH_LOOKUPS = ['fileExists', 'directoryExists', 'readFile', 'realpath', 'getDirectories', 'readDirectory'] as const;
type TsSys = Record<(typeof PATH_LOOKUPS)[number], (p: string, ...rest: any[]) => any>;

export function shareKernelModules(cwd: string, kernelModuleDirs: string[]): void {
  // Node resolves NODE_PATH folders after every node_modules above the requiring file.
  process.env.NODE_PATH = [...kernelModuleDirs, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  (Module as unknown as { _initPaths(): void })._initPaths();
  forwardCompilerLookups(path.join(cwd, 'node_modules'), kernelModuleDirs);
}

/**
 * tslab's compiler resolves imports from `<cwd>/node_modules` (it already fakes that folder to
 * reach tslab itself); lookups there that find nothing are retried in the kernel's folders.
 */
function forwardCompilerLookups(local: string, kernelModuleDirs: string[]): void {
  // The TypeScript build tslab compiles cells with, not the project's own TypeScript.
  const ts = createRequire(require.resolve('tslab/package.json'))('@tslab/typescript-for-tslab') as { sys: TsSys };
  const sys = ts.sys;
  const original = Object.fromEntries(PATH_LOOKUPS.map((name) => [name, sys[name].bind(sys)])) as TsSys;
  const exists = (p: string) => original.fileExists(p) || original.directoryExists(p);
  const forwarded = (p: string): string | undefined => {
    const rel = path.relative(local, p);
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel) || exists(p)) return undefined;
    return kernelModuleDirs.map((dir) => path.join(dir, rel)).find(exists);
  };
  for (const name of PATH_LOOKUPS) {
    sys[name] = (p: string, ...rest: unknown[]) => original[name](forwarded(p) ?? p, ...rest);
  }
}
