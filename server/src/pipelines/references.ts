import type { PipelineValue } from '../api/index.js';
import { TandemError } from '../errors.js';

/** What steps read from a run: its parameters, what triggered it and each finished step's outputs. */
export interface RunValues {
  params: Record<string, PipelineValue>;
  event: Record<string, PipelineValue> | null;
  steps: Record<string, Record<string, PipelineValue>>;
}

export interface Reference {
  scope: 'steps' | 'params' | 'event';
  /** The step id, parameter name or field of the triggering event. */
  name: string;
  /** The output of a step reference (`steps.train.version` → `version`). */
  field?: string;
}

const REFERENCE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^(?:(params|event)\.([A-Za-z_]\w*)|steps\.([A-Za-z][\w-]*)\.([A-Za-z_][\w.-]*))$/;

/** `params.<name>`, `event.<field>` or `steps.<step>.<output>`; anything else is undefined. */
export function parseReference(text: string): Reference | undefined {
  const match = PATH.exec(text);
  if (!match) return undefined;
  return match[1] ? { scope: match[1] as 'params' | 'event', name: match[2]! } : { scope: 'steps', name: match[3]!, field: match[4]! };
}

function readPath(text: string): Reference {
  const ref = parseReference(text);
  if (!ref)
    throw new TandemError(
      'INVALID_ARGUMENT',
      `cannot read "{{ ${text} }}": write {{ params.<name> }}, {{ event.<field> }} or {{ steps.<step>.<output> }}`,
    );
  return ref;
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
  // A run not started by an event (a manual re-run, say) reads null, as an unset parameter does.
  if (ref.scope === 'event') return values.event?.[ref.name] ?? null;
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
