// Whether a cell's code is complete (Jupyter's is_complete_request): consoles run it on Enter
// when it is, and otherwise open a new line indented for the block still open.
import ts from 'typescript';

export type Completeness = { status: 'complete' | 'invalid' } | { status: 'incomplete'; indent: string };

const INDENT = '  ';

export function completenessOf(code: string): Completeness {
  const end = code.trimEnd().length;
  if (end === 0) return { status: 'complete' };
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, code);
  // Open brackets, and the `${` of template literals (whose `}` resumes the template).
  const open: string[] = [];
  for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    if (scanner.isUnterminated()) return { status: 'incomplete', indent: '' };
    if (token === ts.SyntaxKind.OpenBraceToken || token === ts.SyntaxKind.OpenBracketToken || token === ts.SyntaxKind.OpenParenToken) {
      open.push(scanner.getTokenText());
    } else if (token === ts.SyntaxKind.TemplateHead) {
      open.push('${');
    } else if (token === ts.SyntaxKind.CloseBraceToken && open.at(-1) === '${') {
      if (scanner.reScanTemplateToken(false) === ts.SyntaxKind.TemplateTail) open.pop();
      if (scanner.isUnterminated()) return { status: 'incomplete', indent: '' };
    } else if (
      token === ts.SyntaxKind.CloseBraceToken ||
      token === ts.SyntaxKind.CloseBracketToken ||
      token === ts.SyntaxKind.CloseParenToken
    ) {
      open.pop();
    }
  }
  if (open.length > 0) return { status: 'incomplete', indent: INDENT.repeat(open.length) };
  const { diagnostics = [] } = ts.transpileModule(code, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022 } });
  if (diagnostics.length === 0) return { status: 'complete' };
  // An error only at the very end (`const x =`) means the user has more to type.
  return diagnostics.every((d) => (d.start ?? 0) >= end) ? { status: 'incomplete', indent: '' } : { status: 'invalid' };
}
