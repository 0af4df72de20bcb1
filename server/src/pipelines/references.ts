import type { PipelineValue } from '../api/index.js';
import { TandemError } from '../errors.js';

/** What steps read from a run: its parameters and each finished step's outputs. */
export interface RunValues {
  params: Record<string, PipelineValue>;
  steps: Record<string, Record<string, PipelineValue>>;
}

export interface Reference {
  scope: 'steps' | 'params';
  /** The step id or parameter name. */
  name: string;
  /** The output of a step reference (`steps.train.version` → `version`). */
  field?: string;
}

const REFERENCE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^(?:params\.([A-Za-z_]\w*)|steps\.([A-Za-z][\w-]*)\.([A-Za-z_][\w.-]*))$/;

function readPath(text: string): Reference {
  const match = PATH.exec(text);
  if (!match)
    throw new TandemError('INVALID_ARGUMENT', `cannot read "{{ ${text} }}": write {{ params.<name> }} or {{ steps.<step>.<output> }}`);
  return match[1] ? { scope: 'params', name: match[1] } : { scope: 'steps', name: match[2]!, field: match[3]! };
}

/** The `{{ … }}` references anywhere in a step's strings. */
export function referencesIn(value: unknown): Reference[] {
  if (typeof value === 'string') return [...value.matchAll(REFERENCE)].map((m) => readPath(m[1]!));
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(referencesIn);
  return [];
}

/** A reference's value in the run; a step output that does not exist is an error naming it. */
export function lookUp(ref: Reference, values: RunValues): PipelineValue {
  if (ref.scope === 'params') return values.params[ref.name] ?? null;
  const outputs = values.steps[ref.name];
  if (!outputs) throw new TandemError('INVALID_ARGUMENT', `steps.${ref.name} has no outputs (it did not succeed)`);
  if (!(ref.field! in outputs))
    throw new TandemError(
      'INVALID_ARGUMENT',
      `steps.${ref.name}.${ref.field} is not an output of step ${ref.name} (it has: ${Object.keys(outputs).join(', ') || 'none'})`,
    );
  return outputs[ref.field!]!;
}

/**
 * Replaces references in every string of `value`. A string that is one reference only becomes
 * the referred value itself (a number stays a number); inside longer text, it is written out.
 */
export function substitute<T>(value: T, values: RunValues): T {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(value);
    if (whole) return lookUp(readPath(whole[1]!), values) as T;
    return value.replace(REFERENCE, (_, text: string) => String(lookUp(readPath(text), values))) as T;
  }
  if (Array.isArray(value)) return value.map((v: unknown) => substitute(v, values)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, values)])) as T;
  return value;
}
