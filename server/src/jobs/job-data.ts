import { z } from 'zod';
import type { DataRef } from '../api/index.js';

/**
 * Data a job reads, uploaded beforehand to `PUT /job-data/:sha256` (the kernel does it for local
 * files and in-memory tables). The worker downloads it into the job's folder, so a path on the
 * submitter's machine never has to exist on the worker.
 */
export const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256: 64 lowercase hex digits');

export const dataRef = z
  .object({
    sha256: SHA256,
    /** The file name the job sees; its extension tells readers the format (csv, parquet, json, …). */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'a file name: letters, digits and . _ - (at most 200)'),
  })
  .strict() satisfies z.ZodType<DataRef>;

export type { DataRef } from '../api/index.js';

export const dataKey = (sha256: string) => `job-data/${sha256}`;

export const isDataRef = (value: unknown): value is DataRef => dataRef.safeParse(value).success;

/** Every uploaded blob a (validated) job spec names: a template's `inputs.data` and a script's `data` map. */
export function dataRefsOf(spec: Record<string, unknown>): DataRef[] {
  const inputs = spec.inputs as Record<string, unknown> | undefined;
  const named = Object.values((spec.data as Record<string, unknown> | undefined) ?? {});
  return [inputs?.data, ...named].filter(isDataRef);
}
