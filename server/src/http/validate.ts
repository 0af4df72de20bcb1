import { z } from 'zod';
import { TandemError } from '../errors.js';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** A NUL or an unpaired UTF-16 surrogate: PostgreSQL cannot store either in text. */
const unstorable = (s: string) => s.includes('\u0000') || LONE_SURROGATE.test(s);

/** The path of the first string (key or value) in `value` that text columns cannot hold. */
function unstorableText(value: unknown, path: (string | number)[] = [], depth = 0): (string | number)[] | undefined {
  if (typeof value === 'string') return unstorable(value) ? path : undefined;
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (unstorable(key)) return [...path, key];
    const found = unstorableText(item, [...path, Array.isArray(value) ? Number(key) : key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Parses input with a zod schema; the error names each bad field and why. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const bad = unstorableText(value);
  if (bad)
    throw new TandemError('INVALID_ARGUMENT', `${[where, ...bad].join('.')}: text may not contain NUL characters or unpaired surrogates`);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`);
  throw new TandemError('INVALID_ARGUMENT', problems.join('; '), { details: { issues: result.error.issues } });
}
