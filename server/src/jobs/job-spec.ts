import { z } from 'zod';
import { dataRef } from './job-data.js';
import type { JobKind } from './jobs.store.js';

const DATA = z.union([
  dataRef,
  z.string().min(1).max(4096).describe('a CSV, Parquet or JSON file the worker can read (a path on it or a URL its Spark reads)'),
]);
const COLUMN = z.string().min(1).max(256);
const SCALAR = z.union([z.string().max(1000), z.number(), z.boolean()]);

/** Settings of the shipped PySpark MLlib training template (server/python/spark_train.py). */
export const sparkTrainInputs = z.object({
  data: DATA,
  label: COLUMN,
  features: z.array(COLUMN).min(1).max(10_000).optional(),
  algorithm: z.enum(['logistic', 'gbt', 'random_forest', 'linear']),
  params: z.record(z.string().max(100), SCALAR).default({}),
  testFraction: z.number().min(0).max(0.9).default(0.2),
  seed: z.number().int().default(42),
});

/** Settings of the shipped PyTorch tabular MLP template (server/python/gpu_tabular_mlp.py). */
export const tabularMlpInputs = z.object({
  data: DATA,
  label: COLUMN,
  features: z.array(COLUMN).min(1).max(10_000).optional(),
  task: z.enum(['classification', 'regression']).default('classification'),
  epochs: z.number().int().min(1).max(10_000).default(10),
  batchSize: z.number().int().min(1).max(1_000_000).default(256),
  learningRate: z.number().positive().max(10).default(0.001),
  hidden: z.array(z.number().int().min(1).max(65_536)).max(16).default([64, 32]),
  testFraction: z.number().min(0).max(0.9).default(0.2),
  seed: z.number().int().default(42),
});

const TEMPLATES = {
  spark: { 'mllib-train': sparkTrainInputs },
  gpu: { 'tabular-mlp': tabularMlpInputs },
} as const;

/**
 * A notebook job: the notebook (nbformat 4) run headless on its kernel, cell after cell, stopping
 * at the first error; the executed notebook is the job's output `notebook.ipynb`.
 */
export const notebookSpec = z
  .object({
    notebook: z
      .object({
        cells: z.array(z.record(z.string(), z.unknown())).max(10_000),
        metadata: z.record(z.string(), z.unknown()).default({}),
        nbformat: z.literal(4).default(4),
        nbformat_minor: z.number().int().min(0).max(100).default(5),
      })
      .refine((nb) => JSON.stringify(nb).length <= 16 * 1024 * 1024, 'at most 16 MB of notebook JSON'),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .default(600)
      .describe('the longest one cell may run'),
  })
  .strict();

/** The executed notebook a notebook job leaves among its outputs. */
export const NOTEBOOK_OUTPUT = 'notebook.ipynb';

/**
 * What a job runs: an inline Python `script`, a `file` on the worker, or a shipped `template`
 * with its `inputs`; plus argv, Spark conf (spark) or GPU count (gpu). Exactly one source.
 */
export function jobSpec(kind: JobKind): z.ZodType<Record<string, unknown>> {
  if (kind === 'notebook') return notebookSpec;
  return scriptSpec(kind);
}

function scriptSpec(kind: 'spark' | 'gpu') {
  const templates = TEMPLATES[kind];
  const names = Object.keys(templates) as [string, ...string[]];
  return z
    .object({
      script: z.string().min(1).max(1_000_000).optional(),
      file: z.string().min(1).max(4096).optional(),
      template: z.enum(names).optional(),
      inputs: z.record(z.string(), z.unknown()).optional(),
      args: z.array(z.string().max(10_000)).max(1000).default([]),
      /** Uploaded data by the name the script asks `tandem_job.data(name)` for. */
      data: z
        .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'data names are identifiers'), dataRef)
        .refine((d) => Object.keys(d).length <= 64, 'at most 64 data inputs')
        .optional(),
      ...(kind === 'spark'
        ? { conf: z.record(z.string().regex(/^spark\.[\w.-]+$/, 'Spark conf keys start with spark.'), z.string().max(10_000)).default({}) }
        : { gpus: z.number().int().min(0).max(64).default(1) }),
    })
    .strict()
    .transform((spec, ctx) => {
      const sources = (['script', 'file', 'template'] as const).filter((k) => spec[k] !== undefined);
      if (sources.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `give exactly one of script, file or template (got ${sources.join(', ') || 'none'})`,
        });
        return z.NEVER;
      }
      if (!spec.template) return spec;
      const inputs = (templates as Record<string, z.ZodType>)[spec.template]!.safeParse(spec.inputs ?? {});
      if (!inputs.success) {
        for (const issue of inputs.error.issues) ctx.addIssue({ ...issue, path: ['inputs', ...issue.path] } as never);
        return z.NEVER;
      }
      return { ...spec, inputs: inputs.data as Record<string, unknown> };
    });
}
