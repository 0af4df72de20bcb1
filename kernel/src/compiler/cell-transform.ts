// Rewrites a type-checked cell into the body of a function the kernel runs. The notebook's names
// live on one persistent object, the scope: a cell's top-level declarations become properties of
// it, and every reference to a notebook name (the cell's own or an earlier cell's) reads and writes
// that property. Closures of earlier cells and later cells thus share one binding per name
// (`let count = 0; function bump() { return ++count; }`, then `count = 100` elsewhere), and a cell
// that runs again simply replaces its names. Which identifier means a notebook name is the type
// checker's answer, so shadowing, shorthand properties, destructuring and labels need no guessing.
//
// Functions, classes, enums and namespaces stay local declarations (hoisting, decorators and
// TypeScript's own lowering keep working) and are copied to the scope; imports become `require`
// calls; the cell's last expression statement becomes its return value (wrapped in an array, so a
// promise it evaluates to is shown, not awaited).
import ts from 'typescript';
import { RUNTIME, SCOPE } from './cell-parameters.js';
import { isUsing } from './declarations.js';

export interface CellTransformInput {
  checker: ts.TypeChecker;
  /** The file declaring earlier cells' names (notebook-scope.ts); undefined when the cell is checked on its own. */
  scopeFile: string | undefined;
  /** Where the user's code ends in the cell file (the compiler appends its exports after it). */
  userEnd: number;
}

const hasModifier = (node: ts.Node, kind: ts.SyntaxKind) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((m) => m.kind === kind) ?? false);

const withoutExportModifiers = (modifiers: ts.NodeArray<ts.ModifierLike> | undefined) =>
  modifiers?.filter((m) => m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.DefaultKeyword);

export function cellTransformers(input: CellTransformInput): ts.CustomTransformers {
  return { before: [(context) => (file) => transformCell(file, context, input)], after: [dropModuleMarkers] };
}

/** TypeScript marks an output that lost all its imports and exports with `export {}`; the cell body is no module. */
const dropModuleMarkers: ts.TransformerFactory<ts.SourceFile> = (context) => (file) =>
  context.factory.updateSourceFile(
    file,
    file.statements.filter((s) => !ts.isExportDeclaration(s)),
  );

function transformCell(file: ts.SourceFile, context: ts.TransformationContext, { checker, scopeFile, userEnd }: CellTransformInput) {
  const { factory } = context;
  const scopeSymbols = new Map<ts.Symbol, boolean>();

  /** Whether a declaration is one of the cell's own top-level bindings. */
  const declaredAtTopLevel = (decl: ts.Declaration): boolean => {
    if (decl.getSourceFile() !== file) return false;
    if (ts.isVariableDeclaration(decl) || ts.isBindingElement(decl)) {
      let declaration: ts.Node = decl;
      while (ts.isBindingElement(declaration) || ts.isObjectBindingPattern(declaration) || ts.isArrayBindingPattern(declaration)) {
        declaration = declaration.parent;
      }
      // Not a parameter's pattern, not a `catch` clause's variable.
      const list = declaration.parent;
      if (!ts.isVariableDeclaration(declaration) || !ts.isVariableDeclarationList(list) || isUsing(list)) return false;
      if (list.flags & ts.NodeFlags.BlockScoped) {
        return (
          ts.isVariableStatement(list.parent) && list.parent.parent === file && !hasModifier(list.parent, ts.SyntaxKind.DeclareKeyword)
        );
      }
      for (let node: ts.Node = list.parent; node !== file; node = node.parent) {
        if (ts.isFunctionLike(node) || ts.isClassLike(node) || ts.isModuleDeclaration(node)) return false;
        if (hasModifier(node, ts.SyntaxKind.DeclareKeyword)) return false;
      }
      return true;
    }
    if (ts.isFunctionDeclaration(decl) || ts.isClassDeclaration(decl) || ts.isEnumDeclaration(decl) || ts.isModuleDeclaration(decl)) {
      return decl.parent === file && !hasModifier(decl, ts.SyntaxKind.DeclareKeyword);
    }
    return ts.isImportClause(decl) || ts.isNamespaceImport(decl) || ts.isImportSpecifier(decl) || ts.isImportEqualsDeclaration(decl);
  };

  const isScopeSymbol = (symbol: ts.Symbol): boolean => {
    let known = scopeSymbols.get(symbol);
    if (known === undefined) {
      known = (symbol.declarations ?? []).some((d) => d.getSourceFile().fileName === scopeFile || declaredAtTopLevel(d));
      scopeSymbols.set(symbol, known);
    }
    return known;
  };

  /** Inside its own class, enum or namespace, a name means that local declaration (as in JavaScript). */
  const insideOwnDeclaration = (symbol: ts.Symbol, node: ts.Node) =>
    (symbol.declarations ?? []).some(
      (d) =>
        (ts.isClassDeclaration(d) || ts.isEnumDeclaration(d) || ts.isModuleDeclaration(d)) &&
        d.getSourceFile() === file &&
        d.pos <= node.pos &&
        node.end <= d.end,
    );

  const scopeAccess = (name: string, original?: ts.Node): ts.PropertyAccessExpression => {
    const access = factory.createPropertyAccessExpression(factory.createIdentifier(SCOPE), name);
    return original ? ts.setTextRange(access, original) : access;
  };
  const runtime = (helper: string, ...args: ts.Expression[]) =>
    factory.createCallExpression(factory.createPropertyAccessExpression(factory.createIdentifier(RUNTIME), helper), undefined, args);
  const requireCall = (specifier: string) =>
    factory.createCallExpression(factory.createIdentifier('require'), undefined, [factory.createStringLiteral(specifier)]);

  /** Whether an identifier is a reference (not a declared name, property name or label). */
  const isReference = (id: ts.Identifier): boolean => {
    const parent = id.parent;
    if (!parent) return false;
    if ((parent as { name?: ts.Node }).name === id) return false;
    if ((parent as { propertyName?: ts.Node }).propertyName === id) return false;
    if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return false;
    return !ts.isQualifiedName(parent) && !ts.isMetaProperty(parent);
  };

  const referenced = (id: ts.Identifier): ts.Symbol | undefined => {
    const symbol = checker.getSymbolAtLocation(id);
    return symbol && isScopeSymbol(symbol) && !insideOwnDeclaration(symbol, id) ? symbol : undefined;
  };

  const visit = (node: ts.Node): ts.VisitResult<ts.Node> => {
    if (ts.isIdentifier(node)) return isReference(node) && referenced(node) ? scopeAccess(node.text, node) : node;
    if (ts.isExpressionWithTypeArguments(node)) {
      // `class A extends B` names a value; `implements I` only a type.
      const extendsClause =
        ts.isHeritageClause(node.parent) && node.parent.token === ts.SyntaxKind.ExtendsKeyword && ts.isClassLike(node.parent.parent);
      return extendsClause ? factory.updateExpressionWithTypeArguments(node, visitExpression(node.expression), node.typeArguments) : node;
    }
    if (ts.isTypeNode(node)) return node;
    if (ts.isShorthandPropertyAssignment(node)) {
      const symbol = checker.getShorthandAssignmentValueSymbol(node);
      if (symbol && isScopeSymbol(symbol) && !insideOwnDeclaration(symbol, node)) {
        const value = scopeAccess(node.name.text, node.name);
        const initializer = node.objectAssignmentInitializer;
        return factory.createPropertyAssignment(
          factory.createIdentifier(node.name.text),
          initializer ? factory.createAssignment(value, visitExpression(initializer)) : value,
        );
      }
      return ts.visitEachChild(node, visit, context);
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      return runtime('import', ...node.arguments.map(visitExpression));
    }
    if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      return factory.createPropertyAccessExpression(factory.createIdentifier(RUNTIME), 'importMeta');
    }
    if (ts.isCallExpression(node) || ts.isTaggedTemplateExpression(node)) return visitCall(node);
    if (ts.isVariableStatement(node) && isNotebookVar(node.declarationList)) {
      const assigned = assignments(node.declarationList);
      return assigned ? factory.createExpressionStatement(assigned) : factory.createEmptyStatement();
    }
    if (ts.isForStatement(node) && node.initializer && ts.isVariableDeclarationList(node.initializer) && isNotebookVar(node.initializer)) {
      return factory.updateForStatement(
        node,
        assignments(node.initializer),
        visitOptional(node.condition),
        visitOptional(node.incrementor),
        visitStatement(node.statement),
      );
    }
    if (
      (ts.isForInStatement(node) || ts.isForOfStatement(node)) &&
      ts.isVariableDeclarationList(node.initializer) &&
      isNotebookVar(node.initializer)
    ) {
      const target = targetOf(node.initializer.declarations[0]!.name);
      return ts.isForInStatement(node)
        ? factory.updateForInStatement(node, target, visitExpression(node.expression), visitStatement(node.statement))
        : factory.updateForOfStatement(node, node.awaitModifier, target, visitExpression(node.expression), visitStatement(node.statement));
    }
    return ts.visitEachChild(node, visit, context);
  };
  const visitExpression = (node: ts.Expression) => ts.visitNode(node, visit, ts.isExpression) as ts.Expression;
  const visitOptional = (node: ts.Expression | undefined) => (node ? visitExpression(node) : undefined);
  const visitStatement = (node: ts.Statement) => ts.visitNode(node, visit, ts.isStatement) as ts.Statement;

  /** A notebook name called as a function is called without the scope as its `this`. */
  const visitCall = (node: ts.CallExpression | ts.TaggedTemplateExpression): ts.Node => {
    const visited = ts.visitEachChild(node, visit, context);
    const before = ts.isCallExpression(node) ? node.expression : node.tag;
    const after = ts.isCallExpression(visited) ? visited.expression : (visited as ts.TaggedTemplateExpression).tag;
    if (!ts.isIdentifier(before) || after === before) return visited;
    const unbound = factory.createParenthesizedExpression(factory.createComma(factory.createNumericLiteral(0), after));
    if (ts.isTaggedTemplateExpression(visited))
      return factory.updateTaggedTemplateExpression(visited, unbound, visited.typeArguments, visited.template);
    const call = visited as ts.CallExpression;
    return ts.isCallChain(call)
      ? factory.updateCallChain(call, unbound, call.questionDotToken, call.typeArguments, call.arguments)
      : factory.updateCallExpression(call, unbound, call.typeArguments, call.arguments);
  };

  /** A `var` list whose names are the notebook's (a `var` at the cell's top level, not in a function). */
  const isNotebookVar = (list: ts.VariableDeclarationList): boolean => {
    if (list.flags & ts.NodeFlags.BlockScoped) return false;
    const first = list.declarations[0];
    const id = first && firstIdentifier(first.name);
    const symbol = id && checker.getSymbolAtLocation(id);
    return Boolean(symbol && isScopeSymbol(symbol) && declaredAtTopLevel(first));
  };

  /** The assignment target a binding name becomes: `{ b: c = 1, ...rest }` binds scope properties. */
  const targetOf = (name: ts.BindingName): ts.Expression => {
    if (ts.isIdentifier(name)) return scopeAccess(name.text, name);
    const withDefault = (target: ts.Expression, initializer: ts.Expression | undefined) =>
      initializer ? factory.createAssignment(target, visitExpression(initializer)) : target;
    if (ts.isObjectBindingPattern(name)) {
      return factory.createObjectLiteralExpression(
        name.elements.map((element) => {
          if (element.dotDotDotToken) return factory.createSpreadAssignment(targetOf(element.name));
          const key = element.propertyName
            ? ts.isComputedPropertyName(element.propertyName)
              ? factory.createComputedPropertyName(visitExpression(element.propertyName.expression))
              : element.propertyName
            : factory.createIdentifier((element.name as ts.Identifier).text);
          return factory.createPropertyAssignment(key, withDefault(targetOf(element.name), element.initializer));
        }),
      );
    }
    return factory.createArrayLiteralExpression(
      name.elements.map((element) => {
        if (ts.isOmittedExpression(element)) return factory.createOmittedExpression();
        if (element.dotDotDotToken) return factory.createSpreadElement(targetOf(element.name));
        return withDefault(targetOf(element.name), element.initializer);
      }),
    );
  };

  /** `const a = 1, { b } = o` as assignments to the scope; `let x;` resets x, `var x;` keeps it. */
  const assignments = (list: ts.VariableDeclarationList): ts.Expression | undefined => {
    const isVar = (list.flags & ts.NodeFlags.BlockScoped) === 0;
    const parts = list.declarations.flatMap((declaration): ts.Expression[] => {
      if (declaration.initializer) return [factory.createAssignment(targetOf(declaration.name), visitExpression(declaration.initializer))];
      if (isVar || !ts.isIdentifier(declaration.name)) return [];
      return [factory.createAssignment(targetOf(declaration.name), factory.createVoidZero())];
    });
    return parts.length > 1 ? factory.createCommaListExpression(parts) : parts[0];
  };

  const copyToScope = (name: string) =>
    factory.createExpressionStatement(factory.createAssignment(scopeAccess(name), factory.createIdentifier(name)));

  /** Whether an import binding names a value (one naming only a type, or `import type`, loads nothing). */
  const importsValue = (name: ts.Identifier): boolean => {
    const symbol = checker.getSymbolAtLocation(name);
    if (!symbol) return true;
    return (checker.getAliasedSymbol(symbol).flags & ts.SymbolFlags.Value) !== 0;
  };

  const importStatements = (node: ts.ImportDeclaration): ts.Statement[] => {
    const specifier = (node.moduleSpecifier as ts.StringLiteral).text;
    const clause = node.importClause;
    if (!clause) return [factory.createExpressionStatement(requireCall(specifier))];
    if (clause.isTypeOnly) return [];
    const module = factory.createUniqueName('module');
    const bound: ts.Statement[] = [];
    const bind = (name: ts.Identifier, value: ts.Expression) =>
      bound.push(factory.createExpressionStatement(factory.createAssignment(scopeAccess(name.text, name), value)));
    if (clause.name && importsValue(clause.name)) bind(clause.name, runtime('importDefault', module));
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings) && importsValue(bindings.name)) bind(bindings.name, runtime('importNamespace', module));
    if (bindings && ts.isNamedImports(bindings)) {
      for (const element of bindings.elements) {
        if (element.isTypeOnly || !importsValue(element.name)) continue;
        const imported = (element.propertyName ?? element.name).text;
        bind(
          element.name,
          imported === 'default'
            ? runtime('importDefault', module)
            : factory.createElementAccessExpression(module, factory.createStringLiteral(imported)),
        );
      }
    }
    if (bound.length === 0) return [];
    const load = factory.createVariableStatement(
      undefined,
      factory.createVariableDeclarationList(
        [factory.createVariableDeclaration(module, undefined, undefined, requireCall(specifier))],
        ts.NodeFlags.Const,
      ),
    );
    return [load, ...bound];
  };

  const entityExpression = (name: ts.EntityName): ts.Expression =>
    ts.isIdentifier(name)
      ? referenced(name)
        ? scopeAccess(name.text, name)
        : factory.createIdentifier(name.text)
      : factory.createPropertyAccessExpression(entityExpression(name.left), name.right.text);

  const importEquals = (node: ts.ImportEqualsDeclaration): ts.Statement[] => {
    if (node.isTypeOnly || !importsValue(node.name)) return [];
    const reference = node.moduleReference;
    const value = ts.isExternalModuleReference(reference)
      ? requireCall((reference.expression as ts.StringLiteral).text)
      : entityExpression(reference);
    return [factory.createExpressionStatement(factory.createAssignment(scopeAccess(node.name.text, node.name), value))];
  };

  const userStatements = file.statements.filter((s) => s.getStart(file) < userEnd);
  const hoisted: ts.Statement[] = [];
  const body: ts.Statement[] = [];
  userStatements.forEach((statement, index) => {
    const last = index === userStatements.length - 1;
    if (ts.isImportDeclaration(statement)) body.push(...importStatements(statement));
    else if (ts.isImportEqualsDeclaration(statement)) body.push(...importEquals(statement));
    else if (ts.isExportDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) return;
    else if (hasModifier(statement, ts.SyntaxKind.DeclareKeyword)) return;
    else if (ts.isExportAssignment(statement)) {
      const value = visitExpression(statement.expression);
      body.push(last ? returnValue(value) : factory.createExpressionStatement(value));
    } else if (ts.isVariableStatement(statement) && !isUsing(statement.declarationList)) {
      const assigned = assignments(statement.declarationList);
      if (assigned) body.push(factory.createExpressionStatement(assigned));
    } else if (ts.isFunctionDeclaration(statement)) {
      if (!statement.body) return; // an overload signature
      const fn = ts.visitEachChild(statement, visit, context);
      body.push(
        factory.updateFunctionDeclaration(
          fn,
          withoutExportModifiers(fn.modifiers),
          fn.asteriskToken,
          fn.name,
          fn.typeParameters,
          fn.parameters,
          fn.type,
          fn.body,
        ),
      );
      if (statement.name) hoisted.push(copyToScope(statement.name.text));
    } else if (ts.isClassDeclaration(statement)) {
      const cls = ts.visitEachChild(statement, visit, context);
      body.push(
        factory.updateClassDeclaration(
          cls,
          withoutExportModifiers(cls.modifiers),
          cls.name,
          cls.typeParameters,
          cls.heritageClauses,
          cls.members,
        ),
      );
      if (statement.name) body.push(copyToScope(statement.name.text));
    } else if (ts.isEnumDeclaration(statement)) {
      const en = ts.visitEachChild(statement, visit, context);
      body.push(factory.updateEnumDeclaration(en, withoutExportModifiers(en.modifiers), en.name, en.members));
      body.push(copyToScope(statement.name.text));
    } else if (ts.isModuleDeclaration(statement)) {
      if (!ts.isIdentifier(statement.name)) return; // `declare module 'm'` and `declare global` are types only
      const ns = ts.visitEachChild(statement, visit, context);
      body.push(factory.updateModuleDeclaration(ns, withoutExportModifiers(ns.modifiers), ns.name, ns.body));
      const symbol = checker.getSymbolAtLocation(statement.name);
      if (symbol && symbol.flags & ts.SymbolFlags.ValueModule) body.push(copyToScope(statement.name.text));
    } else if (last && ts.isExpressionStatement(statement)) {
      body.push(returnValue(visitExpression(statement.expression)));
    } else {
      body.push(visitStatement(statement));
    }
  });
  return factory.updateSourceFile(file, [...hoisted, ...body]);

  function returnValue(value: ts.Expression): ts.Statement {
    return factory.createReturnStatement(factory.createArrayLiteralExpression([value]));
  }
}

function firstIdentifier(name: ts.BindingName): ts.Identifier | undefined {
  if (ts.isIdentifier(name)) return name;
  for (const element of name.elements) {
    if (ts.isBindingElement(element)) {
      const found = firstIdentifier(element.name);
      if (found) return found;
    }
  }
  return undefined;
}
