import type { Principal } from '../auth/principal.js';
import type { ModelsService } from '../models/models.service.js';
import type { ModelVersion } from '../models/models.store.js';
import { TandemError } from '../errors.js';
import type { Job, JobOutput } from './jobs.store.js';

/** Spec fields worth keeping as a version's params: the scalar settings the job ran with. */
export function paramsOf(job: Job): Record<string, string | number | boolean | null> {
  const flat: Record<string, string | number | boolean | null> = {};
  const add = (prefix: string, value: unknown) => {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) flat[prefix] = value as string | number | boolean | null;
    else if (Array.isArray(value)) flat[prefix] = value.join(',');
    else if (typeof value === 'object') for (const [k, v] of Object.entries(value as object)) add(`${prefix}.${k}`, v);
  };
  for (const [k, v] of Object.entries(job.spec)) if (k !== 'script') add(k, v);
  return flat;
}

/**
 * Registers a finished job's outputs as a new version of `job.register.model`, as the user who
 * submitted the job, with the job (and `run`, its attempt's run) as lineage. Files are streamed
 * from the job's artifacts.
 */
export async function registerJobModel(
  models: ModelsService,
  {
    job,
    creator,
    outputs,
    metrics,
    run,
  }: { job: Job; creator: Principal; outputs: JobOutput[]; metrics: Record<string, number>; run?: string },
): Promise<ModelVersion> {
  if (!job.register) throw new TandemError('INVALID_ARGUMENT', `job ${job.id} does not register a model`);
  if (outputs.length === 0) throw new TandemError('INVALID_ARGUMENT', `job ${job.id} produced no output files to register`);
  return models.registerVersion({
    model: job.register.model,
    actor: creator,
    description: job.register.description ?? `Trained by ${job.kind} job ${job.name}`,
    params: paramsOf(job),
    metrics,
    lineage: {
      jobId: job.id,
      source: `${job.kind}:${String(job.spec.template ?? 'script')}`,
      ...(job.notebook ? { notebook: job.notebook } : {}),
      author: creator.name,
    },
    run,
    files: outputs.map((o) => ({ path: o.path, fromKey: o.key, sha256: o.sha256 })),
  });
}
