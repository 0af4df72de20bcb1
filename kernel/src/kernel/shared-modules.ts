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
 * It also resolves the way Node 10 did, blind to package.json `exports`: the SDK's declarations
 * import '@tandem/server/api' (the API contract), a subpath export, whose types would be `any` in
 * cells. So a missing `<package>/<subpath>.d.ts` is answered with the `types` of that export.
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
  const exportsOf = new Map<string, Record<string, unknown> | undefined>();
  const exported = (p: string): string | undefined => {
    const probe = SUBPATH_PROBE.exec(p);
    if (!probe || original.fileExists(p)) return undefined;
    const [, packageDir, subpath] = probe as unknown as [string, string, string];
    if (!exportsOf.has(packageDir)) {
      const manifest = path.join(packageDir, 'package.json');
      try {
        exportsOf.set(packageDir, original.fileExists(manifest) ? JSON.parse(original.readFile(manifest)).exports : undefined);
      } catch {
        exportsOf.set(packageDir, undefined);
      }
    }
    const entry = exportsOf.get(packageDir)?.[`./${subpath.split(path.sep).join('/')}`] as { types?: unknown } | undefined;
    return typeof entry?.types === 'string' ? path.join(packageDir, entry.types) : undefined;
  };
  for (const name of PATH_LOOKUPS) {
    sys[name] = (p: string, ...rest: unknown[]) => original[name](forwarded(p) ?? exported(p) ?? p, ...rest);
  }
}

/** `…/node_modules/<package>/<subpath>.d.ts`, the package scoped or not. */
const SUBPATH_PROBE = /^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/@][^\\/]*)[\\/](.+)\.d\.ts$/;
