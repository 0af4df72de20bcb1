// Messages between the kernel and its compiler thread.
import type { CompileOutcome, CompilerSettings } from './cell-compiler.js';
import type { Completeness } from './completeness.js';
import type { Completions, Inspection } from './language-features.js';

export interface CompilerMethods {
  compile(code: string): CompileOutcome;
  complete(code: string, cursor: number): Completions;
  inspect(code: string, cursor: number): Inspection | undefined;
  isComplete(code: string): Completeness;
}

export type Method = keyof CompilerMethods;

export interface Request<M extends Method = Method> {
  id: number;
  method: M;
  args: Parameters<CompilerMethods[M]>;
}

export type Response = { id: number; result: unknown } | { id: number; error: { message: string; stack?: string } };

export interface WorkerSettings extends CompilerSettings {
  /** Modules whose declarations to load before the first cell (the SDK). */
  preload: string[];
}
