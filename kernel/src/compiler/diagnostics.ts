// TypeScript's diagnostics as the kernel reports them: where in the cell (or in which of the
// user's own modules) and what.
import path from 'node:path';
import ts from 'typescript';

export interface CellDiagnostic {
  /** The user's module the problem is in, relative to the notebook's folder; undefined for the cell itself. */
  file?: string;
  /** 1-based, in the cell as the user wrote it. */
  line: number;
  column: number;
  message: string;
  code: number;
}

/**
 * Diagnostics of `file` that are the user's to fix. Those in the exports the compiler appended
 * (after `userEnd`) are reported at the end of the cell.
 */
export function cellDiagnostics(diagnostics: readonly ts.Diagnostic[], cellFile: string, userEnd: number, dir: string): CellDiagnostic[] {
  return diagnostics
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file || d.start === undefined) return { line: 1, column: 1, message, code: d.code };
      const inCell = d.file.fileName === cellFile;
      const at = d.file.getLineAndCharacterOfPosition(inCell ? Math.min(d.start, userEnd) : d.start);
      return {
        ...(inCell ? {} : { file: path.relative(dir, d.file.fileName) }),
        line: at.line + 1,
        column: at.character + 1,
        message,
        code: d.code,
      };
    });
}
