// The names a cell declares for the cells after it: its top-level variables, functions, classes,
// enums, namespaces, types and imports, and `var`s anywhere outside its functions. `declare`d
// names and `using` declarations stay the cell's own.
import ts from 'typescript';

/**
 * How later cells see a name: `let` and `const` as variables of that type (so they may assign a
 * `let`), everything else (functions, classes, enums, namespaces, types, imports) as an alias of
 * the declaration with all its meanings.
 */
export type DeclarationKind = 'let' | 'const' | 'alias';

/** What a name may mean, as bit flags: a value, a type, a namespace. */
export const VALUE = 1;
export const TYPE = 2;
export const NAMESPACE = 4;
const ALL = VALUE | TYPE | NAMESPACE;

export interface Declared {
  name: string;
  kind: DeclarationKind;
  /** Every meaning the name may have (more when unsure: an import may be anything). */
  meanings: number;
}

export interface CellDeclarations {
  declared: Declared[];
  /** Names the cell exports itself (`export const x`, `export { x }`). */
  exported: Set<string>;
  /** Whether the cell declares something global (`declare global`, `declare module 'm'`), which must stay. */
  global: boolean;
  /**
   * The meanings the cell's own top-level declarations surely give a name (fewer when unsure):
   * in those, the cell's code refers to its own declaration, not to an earlier cell's.
   */
  hides: Map<string, number>;
}

const hasModifier = (node: ts.Node, kind: ts.SyntaxKind) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((m) => m.kind === kind) ?? false);

export function declarationsOf(file: ts.SourceFile): CellDeclarations {
  const kinds = new Map<string, DeclarationKind>();
  const meanings = new Map<string, number>();
  const hides = new Map<string, number>();
  const exported = new Set<string>();
  let global = false;
  /** `may`: every meaning the declaration may give the name; `surely`: those it certainly gives it. */
  const add = (name: string, kind: DeclarationKind, may: number, surely: number) => {
    // A variable merged with a type keeps its variable meaning for later cells.
    if (kinds.get(name) !== 'let' && kinds.get(name) !== 'const') kinds.set(name, kind);
    meanings.set(name, (meanings.get(name) ?? 0) | may);
    hides.set(name, (hides.get(name) ?? 0) | surely);
  };
  const bindingNames = (name: ts.BindingName, kind: DeclarationKind): void => {
    if (ts.isIdentifier(name)) add(name.text, kind, VALUE, VALUE);
    else for (const element of name.elements) if (ts.isBindingElement(element)) bindingNames(element.name, kind);
  };
  const variables = (list: ts.VariableDeclarationList): void => {
    if (isUsing(list)) return;
    const kind = list.flags & ts.NodeFlags.Const ? 'const' : 'let';
    for (const declaration of list.declarations) bindingNames(declaration.name, kind);
  };
  // `var` anywhere outside functions and classes belongs to the cell, like its top-level `let`.
  const nestedVars = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node) || ts.isModuleDeclaration(node)) return;
    if (ts.isVariableDeclarationList(node) && (node.flags & ts.NodeFlags.BlockScoped) === 0) variables(node);
    ts.forEachChild(node, nestedVars);
  };

  for (const statement of file.statements) {
    const isExported = hasModifier(statement, ts.SyntaxKind.ExportKeyword) && !hasModifier(statement, ts.SyntaxKind.DefaultKeyword);
    if (ts.isModuleDeclaration(statement) && (!ts.isIdentifier(statement.name) || statement.flags & ts.NodeFlags.GlobalAugmentation)) {
      global = true;
      continue;
    }
    if (hasModifier(statement, ts.SyntaxKind.DeclareKeyword)) continue;
    const named = (name: ts.Identifier | undefined, may: number, surely: number) => {
      if (!name) return;
      add(name.text, 'alias', may, surely);
      if (isExported) exported.add(name.text);
    };
    if (ts.isVariableStatement(statement)) {
      if (statement.declarationList.flags & ts.NodeFlags.BlockScoped) variables(statement.declarationList);
      else nestedVars(statement);
      if (isExported) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name)) exported.add(declaration.name.text);
        }
      }
    } else if (ts.isFunctionDeclaration(statement)) {
      named(statement.name, VALUE, VALUE);
    } else if (ts.isClassDeclaration(statement)) {
      named(statement.name, VALUE | TYPE, VALUE | TYPE);
    } else if (ts.isEnumDeclaration(statement)) {
      named(statement.name, ALL, VALUE | TYPE);
    } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
      named(statement.name, TYPE, TYPE);
    } else if (ts.isModuleDeclaration(statement)) {
      named(statement.name as ts.Identifier, ALL, NAMESPACE);
    } else if (ts.isImportDeclaration(statement)) {
      // What an import means depends on its target: anything, as far as this function knows.
      const clause = statement.importClause;
      if (clause?.name) add(clause.name.text, 'alias', ALL, 0);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) add(bindings.name.text, 'alias', ALL, 0);
      else bindings?.elements.forEach((element) => add(element.name.text, 'alias', ALL, 0));
    } else if (ts.isImportEqualsDeclaration(statement)) {
      named(statement.name, ALL, 0);
    } else if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      statement.exportClause.elements.forEach((element) => exported.add(element.name.text));
    } else {
      nestedVars(statement);
    }
  }
  return { declared: [...kinds].map(([name, kind]) => ({ name, kind, meanings: meanings.get(name)! })), exported, global, hides };
}

/** What the compiler appends to a cell so that later cells can import its declarations. */
export function exportsTrailer({ declared, exported }: CellDeclarations): string {
  const names = declared.map((d) => d.name).filter((name) => !exported.has(name));
  return `\nexport { ${names.join(', ')} };\n`;
}

/** Whether the cell's code contains an identifier spelled like one of `names` (anywhere, in any role). */
export function mentionsAny(file: ts.SourceFile, names: ReadonlySet<string>): boolean {
  if (names.size === 0) return false;
  const visit = (node: ts.Node): boolean => (ts.isIdentifier(node) && names.has(node.text)) || (ts.forEachChild(node, visit) ?? false);
  return visit(file);
}

/** Whether the cell imports a module in any way (import declarations, `import x = require()`, `import()`, `require()`). */
export function importsModules(file: ts.SourceFile): boolean {
  const visit = (node: ts.Node): boolean => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isImportTypeNode(node)) return true;
    if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) return true;
    if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || isRequire(node.expression))) return true;
    return ts.forEachChild(node, visit) ?? false;
  };
  return visit(file);
}

/** `using` and `await using` (whose flags include those of `const`). */
export function isUsing(list: ts.VariableDeclarationList): boolean {
  const kind = list.flags & ts.NodeFlags.BlockScoped;
  return kind === ts.NodeFlags.Using || kind === ts.NodeFlags.AwaitUsing;
}

const isRequire = (node: ts.Expression) => ts.isIdentifier(node) && node.text === 'require';

/** Whether the cell awaits at its top level (outside any function), so it must run as an async function. */
export function awaitsAtTopLevel(file: ts.SourceFile): boolean {
  const visit = (node: ts.Node): boolean => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) {
      // Computed member names and decorators run at the top level; bodies do not.
      return ts.isClassLike(node) ? node.members.some((m) => m.name && ts.isComputedPropertyName(m.name) && visit(m.name)) : false;
    }
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) return true;
    if (ts.isVariableDeclarationList(node) && (node.flags & ts.NodeFlags.BlockScoped) === ts.NodeFlags.AwaitUsing) return true;
    return ts.forEachChild(node, visit) ?? false;
  };
  return visit(file);
}
