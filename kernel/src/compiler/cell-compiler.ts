// The kernel's cell compiler: type-checks each cell against the current declarations of earlier
// cells and emits JavaScript for the kernel to run (see notebook-scope.ts for how cells see each
// other, cell-transform.ts for what the JavaScript does).
//
// A cell that imports nothing and names nothing earlier cells declared (but what it declares again
// itself, as a cell run a second time does) is checked in a small program of its own (the
// standard library and Node's types): it cannot depend on the notebook, and that program costs a
// third of the notebook's, where a cell importing the SDK brings in its libraries' declarations.
// Its text then joins the notebook for later cells.
import path from 'node:path';
import ts from 'typescript';
import { CompilerFiles, type ModuleOverrides } from './compiler-files.js';
import { completionsAt, inspectionAt, utf16Offset, codePointOffset, type Completions, type Inspection } from './language-features.js';
import { cellDiagnostics, type CellDiagnostic } from './diagnostics.js';
import { cellTransformers } from './cell-transform.js';
import { completenessOf, type Completeness } from './completeness.js';
import { awaitsAtTopLevel, declarationsOf, exportsTrailer, importsModules, mentionsAny } from './declarations.js';
import { cellCompilerOptions } from './options.js';
import { INTERNAL_PREFIX, NotebookScope } from './notebook-scope.js';

export interface CompilerSettings {
  /** The notebook's folder: relative imports and packages resolve from there. */
  dir: string;
  /** The kernel's package folder: packages the notebook's folder lacks resolve from there. */
  kernelDir: string;
  typeRoots: string[];
  /** Module names the kernel provides itself, mapped to their declaration files. */
  overrides: ModuleOverrides;
}

export interface CompiledCell {
  ok: true;
  js: string;
  sourceMap: string;
  /** Whether the cell awaits at its top level, so it runs as an async function. */
  async: boolean;
}

export type CompileOutcome = CompiledCell | { ok: false; diagnostics: CellDiagnostic[] };

const CANNOT_FIND_MODULE = new Set([2307, 2792]);

export class CellCompiler {
  private readonly files: CompilerFiles;
  private readonly scope: NotebookScope;
  private readonly host: ts.CompilerHost;
  private readonly standaloneFile: string;
  private readonly inspectedFile: string;
  private notebookProgram: ts.Program | undefined;
  private standaloneProgram: ts.Program | undefined;
  private service: ts.LanguageService | undefined;

  constructor(private readonly settings: CompilerSettings) {
    const options = cellCompilerOptions(settings.typeRoots);
    this.files = new CompilerFiles(
      settings.dir,
      options,
      path.join(settings.kernelDir, `${INTERNAL_PREFIX}kernel__.ts`),
      settings.overrides,
    );
    this.scope = new NotebookScope(settings.dir, this.files);
    this.host = this.files.compilerHost();
    this.standaloneFile = path.join(settings.dir, `${INTERNAL_PREFIX}standalone__.ts`);
    this.inspectedFile = path.join(settings.dir, `${INTERNAL_PREFIX}inspected__.ts`);
  }

  /** Parses and binds what cells need before the first one arrives: the standard library, then `imports` in the notebook. */
  warmUpStandalone(): void {
    this.files.setVirtual(this.standaloneFile, 'export {};\n');
    this.check(this.standaloneFile, 'standalone');
  }

  warmUpNotebook(imports: string[]): void {
    const text = `${imports.map((m) => `import ${JSON.stringify(m)};`).join('\n')}\nexport {};\n`;
    const slot = this.scope.freeSlot(importSignature(text));
    this.scope.write(slot, text, importSignature(text));
    this.check(this.scope.slotFile(slot), 'notebook');
  }

  compile(code: string): CompileOutcome {
    const probe = ts.createSourceFile(this.standaloneFile, code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const declarations = declarationsOf(probe);
    const text = code + exportsTrailer(declarations);
    const imports = importSignature(code);
    const commit = (slot: number) => this.scope.commit(slot, declarations.declared, declarations.global);

    if (!declarations.global && !importsModules(probe) && !mentionsAny(probe, this.scope.visibleNames(declarations.hides))) {
      this.files.setVirtual(this.standaloneFile, text);
      const outcome = this.check(this.standaloneFile, 'standalone', code.length);
      if (outcome.ok) {
        const slot = this.scope.freeSlot(imports);
        this.scope.write(slot, text, imports);
        commit(slot);
        return outcome;
      }
      // Confirmed against the notebook: packages it imported may declare globals this program lacks.
    }
    const slot = this.scope.freeSlot(imports);
    this.scope.write(slot, text, imports);
    const outcome = this.check(this.scope.slotFile(slot), 'notebook', code.length);
    if (outcome.ok) commit(slot);
    return outcome;
  }

  private check(file: string, which: 'standalone' | 'notebook', userEnd = 0): CompileOutcome {
    const program = ts.createProgram({
      rootNames: which === 'standalone' ? [this.standaloneFile] : this.scope.roots,
      options: this.files.options,
      host: this.host,
      oldProgram: which === 'standalone' ? this.standaloneProgram : this.notebookProgram,
    });
    if (which === 'standalone') this.standaloneProgram = program;
    else this.notebookProgram = program;
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`the cell file ${file} is missing from its program`);
    const syntactic = program.getSyntacticDiagnostics(source);
    const problems =
      syntactic.length > 0 ? syntactic : [...program.getSemanticDiagnostics(source), ...this.localModuleDiagnostics(program, source)];
    const diagnostics = cellDiagnostics(problems, file, userEnd, this.settings.dir);
    if (diagnostics.length > 0) {
      if (diagnostics.some((d) => CANNOT_FIND_MODULE.has(d.code))) this.files.forgetResolutions();
      return { ok: false, diagnostics };
    }
    let js = '';
    let sourceMap = '';
    const transformers = cellTransformers({
      checker: program.getTypeChecker(),
      scopeFile: which === 'notebook' ? this.scope.declarationsFile : undefined,
      userEnd,
    });
    program.emit(source, (name, output) => (name.endsWith('.map') ? (sourceMap = output) : (js = output)), undefined, false, transformers);
    return { ok: true, js: js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'), sourceMap, async: awaitsAtTopLevel(source) };
  }

  /** Errors in the user's own modules that the cell imports (`./helpers`), which would fail at run time too. */
  private localModuleDiagnostics(program: ts.Program, source: ts.SourceFile): ts.Diagnostic[] {
    const found: ts.Diagnostic[] = [];
    const specifiers = source.statements.flatMap((s) =>
      (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)
        ? [s.moduleSpecifier]
        : [],
    );
    for (const specifier of specifiers) {
      if (!specifier.text.startsWith('.')) continue;
      const [resolved] = this.files.resolveModuleNameLiterals([specifier], source.fileName, undefined, this.files.options, source);
      const fileName = resolved?.resolvedModule?.resolvedFileName;
      const module = fileName && this.files.isProjectSource(fileName) ? program.getSourceFile(fileName) : undefined;
      if (module) found.push(...program.getSyntacticDiagnostics(module), ...program.getSemanticDiagnostics(module));
    }
    return found;
  }

  /** Completions at `cursor` (in code points, as Jupyter counts) of code typed in a new cell. */
  complete(code: string, cursor: number): Completions {
    const offset = utf16Offset(code, cursor);
    const found = completionsAt(this.languageService(code), this.inspectedFile, code, offset);
    return { ...found, start: codePointOffset(code, found.start), end: codePointOffset(code, found.end) };
  }

  inspect(code: string, cursor: number): Inspection | undefined {
    return inspectionAt(this.languageService(code), this.inspectedFile, utf16Offset(code, cursor));
  }

  isComplete(code: string): Completeness {
    return completenessOf(code);
  }

  private languageService(code: string): ts.LanguageService {
    this.files.setVirtual(this.inspectedFile, `${code}\nexport {};\n`);
    this.service ??= ts.createLanguageService(
      this.files.languageServiceHost(() => [...this.scope.roots, this.inspectedFile]),
      this.files.documentRegistry(),
    );
    return this.service;
  }
}

/** The modules a cell imports, as one string: cells importing the same modules share a slot's program structure. */
function importSignature(code: string): string {
  return ts
    .preProcessFile(code, true, true)
    .importedFiles.map((f) => f.fileName)
    .join('\n');
}
