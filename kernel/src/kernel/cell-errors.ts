// Turns what tslab's executor reports through `console.error` into Jupyter `error` content.
import { format } from 'node:util';

export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** tslab prints each TypeScript diagnostic as ("%s%d:%d - %s", file, line, column, message). */
function isDiagnostic(args: unknown[]): boolean {
  return args[0] === '%s%d:%d - %s' && args.length === 5;
}

/** Maps a line of the compiled cell to the line the user wrote. */
export type CellLineOf = (compiledLine: number) => number | undefined;

const CELL_FRAME = /evalmachine\.<anonymous>:(\d+):\d+/g;

/** Stack frames of user code (the cell, the user's modules), with cell positions as cell lines. */
function userFrames(stack: string, lineOf: CellLineOf): string[] {
  return stack
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at ') && !/\(node:|at node:|\/tslab\/dist\/|\/kernel\/(dist|bin)\//.test(line))
    .map((line) => line.replace(CELL_FRAME, (_, compiled) => `cell line ${lineOf(Number(compiled)) ?? '?'}`));
}

/** Collects the error reports of one cell and summarizes them as a single Jupyter error. */
export class CellErrorCollector {
  private readonly diagnostics: string[] = [];
  private thrown: { value: unknown } | undefined;
  private readonly other: string[] = [];

  constructor(private readonly lineOf: CellLineOf = () => undefined) {}

  report(args: unknown[]): void {
    if (isDiagnostic(args)) {
      const [, file, line, column, message] = args as [string, string, number, number, string];
      const where = file && !file.includes('__tslab__') ? `${file}` : 'cell ';
      this.diagnostics.push(`${where}line ${line}, column ${column}: ${message}`);
    } else if (args.length === 1 && this.thrown === undefined) {
      this.thrown = { value: args[0] };
    } else {
      this.other.push(format(...args));
    }
  }

  get empty(): boolean {
    return this.diagnostics.length === 0 && this.thrown === undefined && this.other.length === 0;
  }

  toError(): CellError {
    if (this.diagnostics.length > 0) {
      return {
        ename: 'TypeScriptError',
        evalue: this.diagnostics[0],
        traceback: [`TypeScriptError: ${this.diagnostics.length} compile error(s)`, ...this.diagnostics],
      };
    }
    if (this.thrown) return thrownError(this.thrown.value, this.lineOf);
    const evalue = this.other.join('\n') || 'the cell failed';
    return { ename: 'Error', evalue, traceback: [evalue] };
  }
}

export function thrownError(value: unknown, lineOf: CellLineOf = () => undefined): CellError {
  if (value instanceof Error) {
    const ename = value.name || 'Error';
    const frames = userFrames(value.stack ?? '', lineOf);
    return { ename, evalue: value.message, traceback: [`${ename}: ${value.message}`, ...frames.map((f) => `    ${f}`)] };
  }
  const evalue = format(value);
  return { ename: 'Thrown', evalue, traceback: [`Uncaught ${evalue}`] };
}
