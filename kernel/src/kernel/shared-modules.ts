// Notebooks live anywhere on disk (a JupyterHub home, a temp dir), not inside this repository, yet
// their cells must import the SDK and the libraries its values come from (apache-arrow, arquero,
// @observablehq/plot). A notebook's own node_modules always wins; the kernel's folders are the
// fallback, for Node's `require` here and for the cell compiler (compiler-files.ts).
import { Module } from 'node:module';
import path from 'node:path';

export function shareKernelModules(kernelModuleDirs: string[]): void {
  // Node resolves NODE_PATH folders after every node_modules above the requiring file.
  process.env.NODE_PATH = [...kernelModuleDirs, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  (Module as unknown as { _initPaths(): void })._initPaths();
}
