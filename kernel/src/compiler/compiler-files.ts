// What the cell compiler reads: the notebook's virtual files (cells and the declarations they
// share), held in memory, and files on disk. Each file version is parsed once and the same AST is
// handed to every program and to the language service: a new program per cell then reuses every
// file but the cell's, which is what keeps checking a small cell cheap.
import { statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

interface Parsed {
  version: string;
  file: ts.SourceFile;
}

/** Module names a cell may import that the kernel answers itself: `tslab` is the kernel's compatibility module. */
export type ModuleOverrides = Record<string, string>;

export class CompilerFiles {
  private readonly virtual = new Map<string, { text: string; version: number }>();
  private readonly parsed = new Map<string, Parsed>();
  private readonly texts = new Map<string, string | undefined>();
  private readonly libraryExists = new Map<string, boolean>();
  private readonly resolutions: ts.ModuleResolutionCache;

  constructor(
    readonly dir: string,
    readonly options: ts.CompilerOptions,
    /** A file in the kernel's package: imports a notebook cannot resolve are resolved from there. */
    private readonly fallbackImporter: string,
    private readonly overrides: ModuleOverrides,
  ) {
    this.resolutions = ts.createModuleResolutionCache(dir, (name) => name, options);
  }

  setVirtual(fileName: string, text: string): void {
    const old = this.virtual.get(fileName);
    if (old?.text !== text) this.virtual.set(fileName, { text, version: (old?.version ?? 0) + 1 });
  }

  isVirtual(fileName: string): boolean {
    return this.virtual.has(fileName);
  }

  /** Forgets failed module resolutions, so a package installed or a file created since is found. */
  forgetResolutions(): void {
    this.resolutions.clear();
  }

  /** Whether `fileName` is one of the notebook's own source files (not a library, not a cell). */
  isProjectSource(fileName: string): boolean {
    return !this.virtual.has(fileName) && !isLibrary(fileName) && !fileName.endsWith('.d.ts');
  }

  version(fileName: string): string {
    const virtual = this.virtual.get(fileName);
    if (virtual) return `v${virtual.version}`;
    if (isLibrary(fileName)) return '0';
    // The user's own modules change while the kernel runs.
    try {
      return `m${statSync(fileName).mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  private text(fileName: string, version: string): string | undefined {
    const virtual = this.virtual.get(fileName);
    if (virtual) return virtual.text;
    const key = `${fileName}\0${version}`;
    if (!this.texts.has(key)) this.texts.set(key, ts.sys.readFile(fileName));
    return this.texts.get(key);
  }

  snapshot(fileName: string): ts.IScriptSnapshot | undefined {
    const text = this.text(fileName, this.version(fileName));
    return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
  }

  sourceFile(fileName: string, options: ts.CreateSourceFileOptions | ts.ScriptTarget): ts.SourceFile | undefined {
    const version = this.version(fileName);
    const hit = this.parsed.get(fileName);
    if (hit?.version === version) return hit.file;
    const text = this.text(fileName, version);
    if (text === undefined) return undefined;
    // No parent pointers at parse time: binding sets them, and setting them first is a second walk
    // of every library file (a tenth of the compiler thread's start-up).
    const file = ts.createLanguageServiceSourceFile(fileName, ts.ScriptSnapshot.fromString(text), options, version, false);
    this.parsed.set(fileName, { version, file });
    return file;
  }

  fileExists = (fileName: string): boolean => {
    if (this.virtual.has(fileName)) return true;
    if (!isLibrary(fileName)) return ts.sys.fileExists(fileName);
    let exists = this.libraryExists.get(fileName);
    if (exists === undefined) this.libraryExists.set(fileName, (exists = ts.sys.fileExists(fileName)));
    return exists;
  };

  readFile = (fileName: string): string | undefined => this.text(fileName, this.version(fileName));

  private resolve(name: string, importer: string, mode: ts.ResolutionMode, redirected?: ts.ResolvedProjectReference) {
    return ts.resolveModuleName(name, importer, this.options, this.moduleHost, this.resolutions, redirected, mode);
  }

  private readonly moduleHost: ts.ModuleResolutionHost = {
    fileExists: this.fileExists,
    readFile: this.readFile,
    directoryExists: (dir) => ts.sys.directoryExists(dir),
    realpath: (p) => ts.sys.realpath?.(p) ?? p,
    getCurrentDirectory: () => this.dir,
    getDirectories: (dir) => ts.sys.getDirectories(dir),
    useCaseSensitiveFileNames: true,
  };

  /** Resolves a cell's imports: the notebook's folder first, then the kernel's own packages. */
  resolveModuleNameLiterals = (
    literals: readonly ts.StringLiteralLike[],
    containingFile: string,
    redirected: ts.ResolvedProjectReference | undefined,
    _options: ts.CompilerOptions,
    file: ts.SourceFile,
  ): ts.ResolvedModuleWithFailedLookupLocations[] =>
    literals.map((literal) => {
      const override = this.overrides[literal.text];
      if (override) {
        return { resolvedModule: { resolvedFileName: override, extension: ts.Extension.Dts, isExternalLibraryImport: false } };
      }
      const mode = ts.getModeForUsageLocation(file, literal, this.options);
      const found = this.resolve(literal.text, containingFile, mode, redirected);
      if (found.resolvedModule || isRelative(literal.text)) return found;
      return this.resolve(literal.text, this.fallbackImporter, mode, redirected);
    });

  compilerHost(): ts.CompilerHost {
    return {
      ...this.moduleHost,
      getCurrentDirectory: () => this.dir,
      getSourceFile: (fileName, options) => this.sourceFile(fileName, options),
      getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
      writeFile: () => undefined,
      getCanonicalFileName: (fileName) => fileName,
      useCaseSensitiveFileNames: () => true,
      getNewLine: () => '\n',
      getModuleResolutionCache: () => this.resolutions,
      resolveModuleNameLiterals: this.resolveModuleNameLiterals,
    };
  }

  languageServiceHost(roots: () => string[]): ts.LanguageServiceHost {
    const host: ts.LanguageServiceHost = {
      ...this.moduleHost,
      getCurrentDirectory: () => this.dir,
      getCompilationSettings: () => this.options,
      getScriptFileNames: roots,
      getScriptVersion: (fileName) => this.version(fileName),
      getScriptSnapshot: (fileName) => this.snapshot(fileName),
      getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
      useCaseSensitiveFileNames: () => true,
      resolveModuleNameLiterals: this.resolveModuleNameLiterals,
    };
    // Not in the public type, but the language service passes it on to its programs: without it
    // each program re-reads every package's package.json.
    return Object.assign(host, { getModuleResolutionCache: () => this.resolutions });
  }

  /** A document registry that hands the language service the ASTs the cell programs use. */
  documentRegistry(): ts.DocumentRegistry {
    const acquire = (fileName: string, options?: ts.CreateSourceFileOptions | ts.ScriptTarget) => {
      const file = this.sourceFile(fileName, options ?? this.options.target ?? ts.ScriptTarget.ES2022);
      if (!file) throw new Error(`the language service asked for ${fileName}, which does not exist`);
      return file;
    };
    return {
      acquireDocument: (fileName, _settings, _snapshot, _version, _kind, options) => acquire(fileName, options),
      acquireDocumentWithKey: (fileName, _path, _settings, _key, _snapshot, _version, _kind, options) => acquire(fileName, options),
      updateDocument: (fileName, _settings, _snapshot, _version, _kind, options) => acquire(fileName, options),
      updateDocumentWithKey: (fileName, _path, _settings, _key, _snapshot, _version, _kind, options) => acquire(fileName, options),
      getKeyForCompilationSettings: () => 'cells' as ts.DocumentRegistryBucketKey,
      releaseDocument: () => undefined,
      releaseDocumentWithKey: () => undefined,
      reportStats: () => '',
    };
  }
}

const LIBRARY = `${path.sep}node_modules${path.sep}`;
const TS_LIB_DIR = path.dirname(ts.getDefaultLibFilePath({}));

/** Packages and TypeScript's own lib files do not change while the kernel runs. */
function isLibrary(fileName: string): boolean {
  return fileName.includes(LIBRARY) || fileName.startsWith(TS_LIB_DIR);
}

const isRelative = (name: string) => name.startsWith('./') || name.startsWith('../') || name === '.' || name === '..';
