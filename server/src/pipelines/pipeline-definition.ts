import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { PipelineDefinition, PipelineEventTrigger, PipelineStep } from '../api/index.js';
import { TandemError } from '../errors.js';
import { parseCron } from '../dashboards/cron.js';
import { jobSpec } from '../jobs/job-spec.js';
import { parseExpression } from './gate-expression.js';
import { referencesIn } from './references.js';

const ID = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'letters, digits, _ and - (starting with a letter), at most 64');
const VALUE = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);
const MODEL = z.string().min(1).max(401);

const base = {
  id: ID,
  needs: z.array(ID).max(100).default([]),
  retries: z.number().int().min(0).max(10).default(0),
  retryDelaySeconds: z.number().min(0).max(86_400).default(10),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(3600),
};

const step = z.discriminatedUnion(
  'kind',
  [
    z
      .object({
        ...base,
        kind: z.literal('notebook'),
        notebook: z.string().min(1).max(200),
        parameters: z.record(z.string().regex(/^[A-Za-z_$][\w$]*$/, 'parameter names are identifiers'), VALUE).default({}),
      })
      .strict(),
    z
      .object({
        ...base,
        kind: z.enum(['spark', 'gpu']),
        spec: z.record(z.string(), z.unknown()),
        register: z
          .object({ model: MODEL, description: z.string().max(10_000).optional() })
          .strict()
          .optional(),
        experiment: z.string().min(1).max(500).optional(),
      })
      .strict(),
    z
      .object({
        ...base,
        kind: z.literal('gate'),
        compare: z
          .object({
            step: ID,
            metric: z.string().min(1).max(250),
            model: MODEL.optional(),
            alias: z.string().min(1).max(100),
            direction: z.enum(['higher', 'lower']).default('higher'),
            minDelta: z.number().default(0),
          })
          .strict()
          .optional(),
        expression: z.string().min(1).max(2000).optional(),
      })
      .strict(),
    z
      .object({
        ...base,
        kind: z.literal('alias'),
        model: MODEL,
        alias: z.string().min(1).max(100),
        version: z.union([z.number().int().min(1), z.string().min(1).max(500)]),
      })
      .strict(),
    z.object({ ...base, kind: z.literal('refresh'), dashboard: z.string().min(1).max(200) }).strict(),
    z
      .object({
        ...base,
        kind: z.literal('webhook'),
        url: z.url({ protocol: /^https?$/ }).max(2000),
        body: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? 'kind: one of notebook, spark, gpu, gate, alias, refresh, webhook' : undefined) },
);

/** A pipeline definition as `POST /pipelines` takes it; cross-step rules are checked by `checkDefinition`. */
export const pipelineDefinition = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_. -]{0,99}$/, 'letters, digits, space, _, - and . (at most 100)'),
    description: z.string().max(10_000).default(''),
    parameters: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'parameter names are identifiers'),
        z
          .object({ default: VALUE.optional(), required: z.boolean().default(false), description: z.string().max(2000).optional() })
          .strict(),
      )
      .default({}),
    steps: z.array(step).min(1, 'a pipeline needs at least one step').max(200),
    schedule: z
      .object({
        cron: z.string().min(1).max(200),
        timezone: z.string().min(1).max(100).default('UTC'),
        catchup: z.enum(['skip', 'all']).default('skip'),
      })
      .strict()
      .nullable()
      .default(null),
    on: z
      .array(
        z
          .object({
            on: z.enum(['model.version.created', 'model.alias.set', 'artifact.logged']),
            model: MODEL.optional(),
            alias: z.string().min(1).max(100).optional(),
            experiment: z.string().min(1).max(500).optional(),
            path: z.string().min(1).max(1024).optional(),
          })
          .strict()
          .superRefine((trigger, ctx) => {
            const artifact = trigger.on === 'artifact.logged';
            if (artifact && trigger.experiment === undefined)
              ctx.addIssue({ code: 'custom', path: ['experiment'], message: 'artifact.logged needs the experiment to watch' });
            for (const key of artifact ? (['model', 'alias'] as const) : (['experiment', 'path'] as const))
              if (trigger[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${trigger.on} has no ${key} filter` });
          }),
      )
      .max(20)
      .default([]),
    maxConcurrentRuns: z.number().int().min(1).max(100).default(1),
  })
  .strict()
  .superRefine((definition, ctx) => {
    for (const problem of crossStepProblems(definition as PipelineDefinition)) ctx.addIssue({ code: 'custom', ...problem });
  });

export type CheckedDefinition = z.output<typeof pipelineDefinition>;

/** Reads a request body sent as YAML (a string) or JSON (already parsed). */
export const definitionBody = z.preprocess((body, ctx) => {
  if (typeof body !== 'string') return body;
  try {
    return parseYaml(body) as unknown;
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not valid YAML: ${(error as Error).message.split('\n')[0]}`, input: body });
    return z.NEVER;
  }
}, pipelineDefinition);

/** Rules across steps: unique ids, known needs, no cycles, references and gates that name real steps, valid cron and job specs. */
function crossStepProblems(definition: PipelineDefinition): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const ids = new Map<string, number>();
  definition.steps.forEach((s, i) => {
    if (ids.has(s.id)) problems.push({ path: ['steps', i, 'id'], message: `two steps are called "${s.id}"` });
    ids.set(s.id, i);
  });
  definition.steps.forEach((s, i) => {
    for (const need of s.needs ?? []) {
      if (!ids.has(need)) problems.push({ path: ['steps', i, 'needs'], message: `step "${s.id}" needs "${need}", which is not a step` });
      if (need === s.id) problems.push({ path: ['steps', i, 'needs'], message: `step "${s.id}" needs itself` });
    }
  });
  const cycle = findCycle(definition.steps);
  if (cycle) problems.push({ path: ['steps'], message: `the steps form a cycle: ${cycle.join(' -> ')}` });
  if (problems.length > 0) return problems;

  const params = new Set(Object.keys(definition.parameters ?? {}));
  const eventFields = new Set((definition.on ?? []).flatMap((t) => EVENT_FIELDS[t.on]));
  const readsEvent = (path: (string | number)[], field: string) => {
    if (!eventFields.has(field))
      problems.push({
        path,
        message:
          eventFields.size === 0
            ? `event.${field}: only a pipeline with an event trigger (on) has an event to read`
            : `event.${field} is not a field of this pipeline's events (they have: ${[...eventFields].join(', ')})`,
      });
  };
  definition.steps.forEach((s, i) => {
    const upstream = ancestors(definition.steps, s.id);
    const refer = (name: string) => {
      if (!upstream.has(name))
        problems.push({
          path: ['steps', i],
          message: `step "${s.id}" refers to step "${name}", which it does not need (directly or through others)`,
        });
    };
    let references: ReturnType<typeof referencesIn>;
    try {
      references = referencesIn(s);
    } catch (error) {
      problems.push({ path: ['steps', i], message: `step "${s.id}": ${(error as Error).message}` });
      return;
    }
    for (const ref of references) {
      if (ref.scope === 'steps') refer(ref.name);
      else if (ref.scope === 'event') readsEvent(['steps', i], ref.name);
      else if (!params.has(ref.name))
        problems.push({ path: ['steps', i], message: `step "${s.id}" refers to params.${ref.name}, which is not a parameter` });
    }
    if (s.kind === 'gate') {
      if ((s.compare === undefined) === (s.expression === undefined))
        problems.push({ path: ['steps', i], message: `gate "${s.id}": give exactly one of compare or expression` });
      if (s.compare) refer(s.compare.step);
      if (s.expression) {
        try {
          for (const ref of parseExpression(s.expression).references) {
            if (ref.scope === 'steps') refer(ref.name);
            else if (ref.scope === 'event') readsEvent(['steps', i, 'expression'], ref.name);
            else if (!params.has(ref.name))
              problems.push({ path: ['steps', i, 'expression'], message: `params.${ref.name} is not a parameter` });
          }
        } catch (error) {
          problems.push({ path: ['steps', i, 'expression'], message: (error as Error).message });
        }
      }
    }
    if ((s.kind === 'spark' || s.kind === 'gpu') && references.length === 0) {
      const spec = jobSpec(s.kind).safeParse(s.spec);
      if (!spec.success)
        for (const issue of spec.error.issues)
          problems.push({ path: ['steps', i, 'spec', ...(issue.path as (string | number)[])], message: issue.message });
    }
  });
  if (definition.schedule) {
    try {
      parseCron(definition.schedule.cron, definition.schedule.timezone);
    } catch (error) {
      problems.push({ path: ['schedule'], message: (error as Error).message });
    }
  }
  for (const [name, p] of Object.entries(definition.parameters ?? {})) {
    if (p.required && p.default !== undefined)
      problems.push({ path: ['parameters', name], message: 'a required parameter has no default' });
    const scheduled = definition.schedule || (definition.on ?? []).length > 0;
    if (p.required && scheduled)
      problems.push({
        path: ['parameters', name],
        message: 'scheduled and event runs cannot set parameters: give it a default instead of required',
      });
  }
  return problems;
}

/** What each event trigger hands its runs, as `{{ event.<field> }}`. */
const EVENT_FIELDS: Record<PipelineEventTrigger['on'], string[]> = {
  'model.version.created': ['model', 'version'],
  'model.alias.set': ['model', 'version', 'alias'],
  'artifact.logged': ['experiment', 'runId', 'path'],
};

function findCycle(steps: PipelineStep[]): string[] | undefined {
  const needs = new Map(steps.map((s) => [s.id, s.needs ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const need of needs.get(id) ?? []) {
      const found = visit(need);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const s of steps) {
    const found = visit(s.id);
    if (found) return found;
  }
  return undefined;
}

/** Every step `id` needs, directly or through others. */
export function ancestors(steps: PipelineStep[], id: string): Set<string> {
  const needs = new Map(steps.map((s) => [s.id, s.needs ?? []]));
  const seen = new Set<string>();
  const queue = [...(needs.get(id) ?? [])];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...(needs.get(next) ?? []));
  }
  return seen;
}

/** The values of a run's parameters: the request's over the defaults; unknown or missing ones are a 400. */
export function runParameters(
  definition: CheckedDefinition,
  given: Record<string, unknown> = {},
): Record<string, string | number | boolean | null> {
  const values: Record<string, string | number | boolean | null> = {};
  for (const name of Object.keys(given)) {
    if (!(name in definition.parameters))
      throw new TandemError('INVALID_ARGUMENT', `params.${name}: pipeline ${definition.name} has no such parameter`);
  }
  for (const [name, p] of Object.entries(definition.parameters)) {
    const value = name in given ? given[name] : p.default;
    if (value === undefined) throw new TandemError('INVALID_ARGUMENT', `params.${name}: required parameter missing`);
    values[name] = value as string | number | boolean | null;
  }
  return values;
}
