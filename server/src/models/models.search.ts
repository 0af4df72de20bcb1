import { z } from 'zod';
import { pageQuery, type PageRequest } from '../db/paging.js';

/** A new model's name: created in the caller's namespace, so it has no owner part. */
export const MODEL_NAME = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, . _ - (starting with a letter or digit, max 128)');
/** How requests name an existing model: `owner/name` (a user name, as auth allows them) or a bare `name`. */
export const MODEL_REF = z
  .string()
  .regex(
    /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,62}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'a model name or owner/name: letters, digits, . _ - (each starting with a letter or digit; name max 128, owner max 63)',
  );
export const ALIAS = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, 'a letter, then letters, digits, _ - (max 63)');
export const TAG_KEY = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'letters, digits, . _ : / - (max 128)');
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_.\-/]{0,127}$/;

export type MetricOp = '>' | '>=' | '<' | '<=' | '=' | '!=';

export interface ModelSearch extends PageRequest {
  q?: string;
  prefix?: string;
  tags: { key: string; value?: string }[];
  alias?: string;
  metrics: { name: string; op: MetricOp; value: number }[];
  order: { by: 'name' | 'updated'; desc: boolean } | { by: 'metric'; metric: string; desc: boolean };
}

const many = (item: z.ZodType<string>) =>
  z
    .union([item, z.array(item).max(20)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));

const METRIC_FILTER = /^(?:metric\.)?([A-Za-z_][A-Za-z0-9_.\-/]{0,127}?)\s*(>=|<=|!=|>|<|=)\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/i;

/** Query string of GET /models; `filter=metric.accuracy>0.9`, `tag=team:vision`, `orderBy=metric.accuracy`. */
export const searchQuery = pageQuery(
  { maxOffset: 1_000_000 },
  {
    q: z.string().max(200).optional(),
    prefix: z.string().max(128).optional(),
    tag: many(
      z
        .string()
        .max(300)
        .regex(/^[^:]+(:.*)?$/, 'key or key:value'),
    ),
    alias: ALIAS.optional(),
    filter: many(z.string().max(300).regex(METRIC_FILTER, 'metric filter like metric.accuracy>0.9')),
    orderBy: z
      .string()
      .regex(/^(name|updated|metric\.[A-Za-z_][A-Za-z0-9_.\-/]{0,127})$/, 'name, updated or metric.<name>')
      .default('name'),
    desc: z.enum(['true', 'false']).optional(),
  },
).transform((s): ModelSearch => {
  const metricOrder = s.orderBy.startsWith('metric.') ? s.orderBy.slice('metric.'.length) : undefined;
  const desc = s.desc === undefined ? s.orderBy !== 'name' : s.desc === 'true';
  return {
    q: s.q || undefined,
    prefix: s.prefix || undefined,
    tags: s.tag.map((t) => {
      const at = t.indexOf(':');
      return at < 0 ? { key: t } : { key: t.slice(0, at), value: t.slice(at + 1) };
    }),
    alias: s.alias,
    metrics: s.filter.map((f) => {
      const [, name, op, value] = METRIC_FILTER.exec(f)!;
      return { name: name!, op: op as MetricOp, value: Number(value) };
    }),
    order:
      metricOrder && METRIC_NAME.test(metricOrder)
        ? { by: 'metric', metric: metricOrder, desc }
        : { by: s.orderBy as 'name' | 'updated', desc },
    limit: s.limit,
    offset: s.offset,
  };
});
