// How cells load modules: `require` from the notebook's folder (falling back to the kernel's
// packages through NODE_PATH, see shared-modules.ts), modules the kernel provides itself under
// their usual names (`tslab`), and the user's own `.ts` files, compiled on load and loaded again
// once edited.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type TS from 'typescript';

/** Module names the kernel answers with modules of its own, mapped to their files. */
export type ProvidedModules = Record<string, string>;

export function notebookRequire(dir: string, provided: ProvidedModules): NodeJS.Require {
  const base = createRequire(path.join(dir, '__notebook__.js'));
  const resolve = ((id: string, options?: { paths?: string[] }) => base.resolve(provided[id] ?? id, options)) as NodeJS.RequireResolve;
  resolve.paths = base.resolve.paths;
  const load = ((id: string) => base(provided[id] ?? id)) as NodeJS.Require;
  return Object.assign(load, { resolve, cache: base.cache, extensions: base.extensions, main: base.main });
}

/** When each `.ts` module was loaded, by file name. */
const loaded = new Map<string, number>();

/** Lets cells `require`/import the user's `.ts` files (TypeScript is loaded the first time one is). */
export function loadTypeScriptFiles(): void {
  if (require.extensions['.ts']) return;
  require.extensions['.ts'] = (module, filename) => {
    const ts = require('typescript') as typeof TS;
    const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        experimentalDecorators: true,
        jsx: ts.JsxEmit.React,
        inlineSourceMap: true,
      },
    });
    loaded.set(filename, statSync(filename).mtimeMs);
    (module as unknown as { _compile(code: string, filename: string): void })._compile(outputText, filename);
  };
}

/** Drops edited `.ts` modules from the module cache, so the next cell importing them gets the new code. */
export function forgetEditedTypeScriptFiles(cache: NodeJS.Require['cache']): void {
  for (const [filename, mtime] of loaded) {
    let now: number | undefined;
    try {
      now = statSync(filename).mtimeMs;
    } catch {
      now = undefined;
    }
    if (now !== mtime) {
      delete cache[filename];
      loaded.delete(filename);
    }
  }
}
