import { z } from 'zod';
import { TandemError } from '../errors.js';

/** Parses input with a zod schema; the error names each bad field and why. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`);
  throw new TandemError('INVALID_ARGUMENT', problems.join('; '), { details: { issues: result.error.issues } });
}
