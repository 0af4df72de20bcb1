import { z } from 'zod';
import { TandemError } from '../errors.js';
import { parseFilter, parseOrderBy, type Comparison, type OrderTerm, type Vocabulary } from './tracking.filter.js';

// Validation shared by the Tandem and the MLflow edges. Limits follow MLflow's where it has them
// (key 250 characters, param value 6000, tag value 8000), so that what one API accepts the other
// can answer.

/** Metric, param and tag keys: MLflow's character set. */
export const KEY = z
  .string()
  .min(1)
  .max(250)
  .regex(/^[\p{L}\p{N}_.\-/ :]+$/u, 'letters, digits, spaces and _ . - / : (max 250)');
export const PARAM_VALUE = z.string().max(6000, 'at most 6000 characters');
export const TAG_VALUE = z.string().max(8000, 'at most 8000 characters');
export const METRIC_VALUE = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);
export const STEP = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
export const TIMESTAMP_MS = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const RUN_ID = z.string().regex(/^[0-9a-f]{32}$/, '32 hex digits');
export const EXPERIMENT_ID = z.uuid();
export const EXPERIMENT_NAME = z.string().trim().min(1).max(500);
export const RUN_NAME = z.string().trim().min(1).max(500);
export const VIEW = z.enum(['active', 'deleted', 'all']);
/** Free text attached to a run (notebook path, cell id, version id, job id). */
export const SOURCE_TEXT = z.string().min(1).max(1000);

export const DATASET_INPUT = z.object({
  name: z.string().min(1).max(500),
  digest: z.string().min(1).max(100),
  sourceType: z.string().max(100).optional(),
  source: z.string().max(10_000).optional(),
  schema: z.string().max(1_000_000).optional(),
  profile: z.string().max(1_000_000).optional(),
  context: z.string().max(100).optional(),
});

/** `?a=1&a=2` arrives as an array, `?a=1` as a string: both become a list. */
export const many = (item: z.ZodType<string>, max = 100) =>
  z
    .union([item, z.array(item).max(max)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));

/** A filter and orderings parsed at the edge: a bad one is a 400 naming the token and its position. */
export function parseSearch(
  vocabulary: Vocabulary,
  filter: string | undefined,
  orderBy: string[],
  labels: { filter: string; orderBy: string },
): { conditions: Comparison[]; order: OrderTerm[] } {
  if (orderBy.length > 10) throw new TandemError('INVALID_ARGUMENT', `${labels.orderBy}: at most 10 orderings`);
  return {
    conditions: parseFilter(filter ?? '', vocabulary, labels.filter),
    order: orderBy.map((o, i) => parseOrderBy(o, vocabulary, `${labels.orderBy}[${i}]`)),
  };
}
