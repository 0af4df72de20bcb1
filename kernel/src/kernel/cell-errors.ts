// A failed cell as Jupyter `error` content: TypeScript's diagnostics, or the value the cell threw
// with its stack trace in the cells' own lines.
import { format } from 'node:util';
import type { CellDiagnostic } from '../compiler/diagnostics.js';
import type { CellLocation } from './cell-runner.js';

export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Where a position in a compiled cell's script is in the cell the user wrote (cell-runner.ts). */
export type LocateInCell = (file: string, line: number, column: number) => CellLocation | undefined;

const FRAME_POSITION = /(\(?)([^\s()]+):(\d+):(\d+)(\)?)$/;
const KERNEL_FRAME = /\(node:|at node:|\/kernel\/(dist|bin)\//;

/**
 * Stack frames of user code (cells, the user's modules): frames in cells read `cell line 3, column 5`
 * for the cell that ran, `cell [4] line 3, column 5` for an earlier one.
 */
function userFrames(stack: string, locate: LocateInCell, count: number | undefined): string[] {
  return stack
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at '))
    .map((line) => {
      const match = FRAME_POSITION.exec(line);
      const at = match && locate(match[2]!, Number(match[3]), Number(match[4]));
      if (!match || !at) return line;
      const cell = at.count === count ? 'cell' : `cell [${at.count}]`;
      return `${line.slice(0, match.index)}${match[1]}${cell} line ${at.line}, column ${at.column}${match[5]}`;
    })
    .filter((line) => !KERNEL_FRAME.test(line));
}

/** The error a cell threw (`count` is the cell's execution count). */
export function thrownError(value: unknown, locate: LocateInCell = () => undefined, count?: number): CellError {
  if (value instanceof Error) {
    const ename = value.name || 'Error';
    const frames = userFrames(value.stack ?? '', locate, count);
    return { ename, evalue: value.message, traceback: [`${ename}: ${value.message}`, ...frames.map((f) => `    ${f}`)] };
  }
  const evalue = format(value);
  return { ename: 'Thrown', evalue, traceback: [`Uncaught ${evalue}`] };
}

/** TypeScript's errors for a cell that did not compile; the first one is the error's value. */
export function compileError(diagnostics: CellDiagnostic[]): CellError {
  const lines = diagnostics.map((d) => `${d.file ? `${d.file} ` : 'cell '}line ${d.line}, column ${d.column}: ${d.message}`);
  return {
    ename: 'TypeScriptError',
    evalue: lines[0] ?? 'the cell did not compile',
    traceback: [`TypeScriptError: ${lines.length} compile error(s)`, ...lines],
  };
}

export const INTERRUPTED: CellError = {
  ename: 'KeyboardInterrupt',
  evalue: 'the cell was interrupted',
  traceback: ['KeyboardInterrupt: the cell was interrupted'],
};
