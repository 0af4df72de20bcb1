import type {
  Page,
  Pipeline,
  PipelineRun,
  PipelineRunStatus,
  PipelineRunSummary,
  PipelineValue,
  PipelineWithRole,
  StartPipelineRunRequest,
} from '@tandem/server/api';
import type { TandemClient } from '../requests';

export type {
  Pipeline,
  PipelineParameter,
  PipelineRun,
  PipelineRunStatus,
  PipelineRunSummary,
  PipelineStepRun,
  PipelineStepStatus,
  PipelineValue,
  PipelineWithRole,
} from '@tandem/server/api';

/** Runs in these states change no more (until retried). */
export const FINAL_RUN: PipelineRunStatus[] = ['succeeded', 'failed', 'cancelled'];
/** Runs in these states may be retried from the steps that did not succeed. */
export const RETRYABLE_RUN: PipelineRunStatus[] = ['failed', 'cancelled'];

export const isActiveRun = (run: Pick<PipelineRunSummary, 'status'> | null | undefined): boolean =>
  run !== null && run !== undefined && !FINAL_RUN.includes(run.status);

// JSON is YAML too: the server reads either from one text.
const YAML = { 'content-type': 'application/yaml' };

/** The pipelines part of the Tandem API. */
export class PipelinesApi {
  constructor(private readonly client: TandemClient) {}

  list(pageToken?: string, limit = 50): Promise<Page<Pipeline>> {
    const query = new URLSearchParams({ limit: String(limit), ...(pageToken ? { pageToken } : {}) });
    return this.client.request(`pipelines?${query}`);
  }

  get(id: string): Promise<PipelineWithRole> {
    return this.client.request(`pipelines/${id}`);
  }

  /** Defines a pipeline from JSON or YAML text (the caller's own of the same name is replaced). */
  define(text: string): Promise<PipelineWithRole> {
    return this.client.request('pipelines', { method: 'POST', body: text, headers: YAML });
  }

  /** Replaces pipeline `id`'s definition with JSON or YAML text (editors; the name stays). */
  redefine(id: string, text: string): Promise<PipelineWithRole> {
    return this.client.request(`pipelines/${id}`, { method: 'PUT', body: text, headers: YAML });
  }

  /** The pipeline's runs, newest first. */
  runs(id: string, limit = 20): Promise<Page<PipelineRunSummary>> {
    return this.client.request(`pipelines/${id}/runs?limit=${limit}`);
  }

  /** A run with its steps. */
  run(runId: string): Promise<PipelineRun> {
    return this.client.request(`pipeline-runs/${runId}`);
  }

  /** A manual run now, with `params` over the defaults. */
  start(id: string, params: Record<string, PipelineValue> = {}): Promise<PipelineRun> {
    const json: StartPipelineRunRequest = { params };
    return this.client.request(`pipelines/${id}/runs`, { method: 'POST', json });
  }

  cancel(runId: string): Promise<PipelineRun> {
    return this.client.request(`pipeline-runs/${runId}/cancel`, { method: 'POST' });
  }

  /** Runs a failed or cancelled run again from the steps that did not succeed. */
  retry(runId: string): Promise<PipelineRun> {
    return this.client.request(`pipeline-runs/${runId}/retry`, { method: 'POST' });
  }
}
