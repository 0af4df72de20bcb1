// The compiler options every cell is checked and emitted with. They follow tslab's where a notebook
// written for tslab depends on them (no strict mode, legacy decorators, React JSX, JSON imports),
// and current TypeScript where tslab's were dated: package `exports` are resolved as bundlers and
// Node do, `.ts` extensions may be imported, top-level await is allowed.
import ts from 'typescript';

export function cellCompilerOptions(typeRoots: string[]): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    // Imports stay as written in the output; the cell transform turns them into `require` calls.
    module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    rewriteRelativeImportExtensions: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    experimentalDecorators: true,
    jsx: ts.JsxEmit.React,
    // Later cells may read an enum declared `const` as a value too.
    preserveConstEnums: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots,
    sourceMap: true,
    newLine: ts.NewLineKind.LineFeed,
  };
}
