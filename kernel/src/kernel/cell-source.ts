// Rewrites a cell's source before tslab compiles it, where tslab's converter would lose track of
// earlier cells' declarations. The converter turns every identifier whose symbol was declared by an
// earlier cell into `exports.<name>`, asking the type checker for the symbol at that identifier.
// Two identifiers answer with a property instead of the variable:
// - a shorthand property `{ a }`: the checker names the new object's property `a`, so `a` stays a
//   bare (undefined) name at run time, and `({ a } = o)` assigns a sloppy-mode global;
// - a renamed property in a binding pattern `const { b: c } = obj`: the checker names property `b`
//   of the earlier cell's type, and the converter wraps it, emitting invalid JavaScript.
// So `{ a }` becomes `{ a: a }` and `{ b: c }` becomes `{ "b": c }`. Text is only inserted, never
// on a new line, so line numbers hold; `userPosition` maps columns back for diagnostics.
import { createRequire } from 'node:module';
import type * as TS from '@tslab/typescript-for-tslab';

// The TypeScript tslab compiles cells with (already loaded by then): cells parse as they compile.
const ts = createRequire(require.resolve('tslab/package.json'))('@tslab/typescript-for-tslab') as typeof TS;

interface Insertion {
  /** Offset in the user's source where `text` goes. */
  at: number;
  text: string;
  /** The user's offset to report for positions inside the inserted text. */
  anchor: number;
}

/** A position as tslab reports it: offset, zero-based line and character. */
export interface CellPosition {
  offset: number;
  line: number;
  character: number;
}

export interface CellSource {
  /** The source the compiler sees. */
  readonly text: string;
  /** Names the cell declares at its top level, and which of them are variables it may reassign. */
  readonly declared: { all: string[]; mutable: string[] };
  /** Where a position in `text` is in the user's source; positions not in `text` stay as they are. */
  userPosition(pos: CellPosition): CellPosition;
}

export function prepareCell(source: string): CellSource {
  const file = ts.createSourceFile('cell.ts', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const insertions: Insertion[] = [];
  const visit = (node: TS.Node): void => {
    if (ts.isShorthandPropertyAssignment(node) && isPlainShorthand(node, file)) {
      insertions.push({ at: node.name.end, text: `: ${node.name.text}`, anchor: node.name.getStart(file) });
    } else if (ts.isBindingElement(node) && node.propertyName && ts.isIdentifier(node.propertyName)) {
      const name = node.propertyName;
      insertions.push({ at: name.getStart(file), text: '"', anchor: name.getStart(file) }, { at: name.end, text: '"', anchor: name.end });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  insertions.sort((x, y) => x.at - y.at);

  let text = '';
  let from = 0;
  for (const { at, text: inserted } of insertions) {
    text += source.slice(from, at) + inserted;
    from = at;
  }
  text += source.slice(from);

  const userOffset = (offset: number): number => {
    let shift = 0;
    for (const { at, text: inserted, anchor } of insertions) {
      if (offset < at + shift) break;
      if (offset < at + shift + inserted.length) return anchor;
      shift += inserted.length;
    }
    return offset - shift;
  };

  return {
    text,
    declared: topLevelDeclarations(file),
    userPosition(pos) {
      if (insertions.length === 0 || !sameLineAndCharacter(text, pos)) return pos;
      const offset = userOffset(pos.offset);
      return { offset, line: pos.line, character: offset - (source.lastIndexOf('\n', offset - 1) + 1) };
    },
  };
}

/** Whether `pos` is a position in `text` (tslab reports diagnostics of the user's modules alike). */
function sameLineAndCharacter(text: string, pos: CellPosition): boolean {
  if (pos.offset > text.length) return false;
  const before = text.slice(0, pos.offset);
  const line = before.split('\n').length - 1;
  return line === pos.line && pos.offset - (before.lastIndexOf('\n') + 1) === pos.character;
}

/**
 * `{ a }`, or `{ a = 1 }` in a destructuring target. Elsewhere `{ a = 1 }` is an error, and so are
 * `{ a? }` or `{ async a }`: the compiler must see them as written to still reject them.
 */
function isPlainShorthand(node: TS.ShorthandPropertyAssignment, file: TS.SourceFile): boolean {
  if (node.getStart(file) !== node.name.getStart(file)) return false;
  const after = file.text.slice(node.name.end, node.end).trim();
  return node.objectAssignmentInitializer ? after.startsWith('=') && isAssignedPattern(node.parent) : after === '';
}

/** Whether an object or array literal is the target of a destructuring assignment (`({ a } = o)`). */
function isAssignedPattern(node: TS.Node): boolean {
  const parent = node.parent;
  if (ts.isBinaryExpression(parent)) {
    // The target itself, or a default inside a target: `[{ a = 1 } = {}] = list`.
    return parent.left === node && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken;
  }
  if (ts.isForOfStatement(parent) || ts.isForInStatement(parent)) return parent.initializer === node;
  if (ts.isPropertyAssignment(parent) || ts.isSpreadAssignment(parent) || ts.isSpreadElement(parent))
    return isAssignedPattern(parent.parent);
  if (ts.isArrayLiteralExpression(parent)) return isAssignedPattern(parent);
  return false;
}

function topLevelDeclarations(file: TS.SourceFile): { all: string[]; mutable: string[] } {
  const all = new Set<string>();
  const mutable = new Set<string>();
  const bindingNames = (name: TS.BindingName, into: Set<string>[]): void => {
    if (ts.isIdentifier(name)) into.forEach((set) => set.add(name.text));
    else name.elements.forEach((element) => ts.isBindingElement(element) && bindingNames(element.name, into));
  };
  const variables = (list: TS.VariableDeclarationList): void => {
    const reassignable = (list.flags & ts.NodeFlags.Const) === 0;
    list.declarations.forEach((decl) => bindingNames(decl.name, reassignable ? [all, mutable] : [all]));
  };
  // `var` anywhere outside functions and classes belongs to the cell, like its top-level `let`.
  const vars = (node: TS.Node): void => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node) || ts.isModuleDeclaration(node)) return;
    if (ts.isVariableDeclarationList(node) && (node.flags & ts.NodeFlags.BlockScoped) === 0) variables(node);
    ts.forEachChild(node, vars);
  };
  for (const statement of file.statements) {
    const ambient = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword);
    if (ambient) continue;
    if (ts.isVariableStatement(statement)) {
      if (statement.declarationList.flags & ts.NodeFlags.BlockScoped) variables(statement.declarationList);
      else vars(statement);
    } else if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      all.add(statement.name.text);
    } else if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name)) {
      all.add(statement.name.text);
    } else if (ts.isImportDeclaration(statement) && statement.importClause) {
      const { name, namedBindings } = statement.importClause;
      if (name) all.add(name.text);
      if (namedBindings && ts.isNamespaceImport(namedBindings)) all.add(namedBindings.name.text);
      else namedBindings?.elements.forEach((element) => all.add(element.name.text));
    } else if (ts.isImportEqualsDeclaration(statement)) {
      all.add(statement.name.text);
    } else {
      vars(statement);
    }
  }
  return { all: [...all], mutable: [...mutable] };
}
