import type { Job, JobEvents, JobList, JobStatus } from '@tandem/server/api';
import type { TandemClient } from '../requests';

export type { Job, JobEvent, JobStatus } from '@tandem/server/api';
export const FINAL: JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** The panel's controls (`GET /jobs` filters as the selects give them): empty values mean no filter. */
export interface JobFilter {
  q?: string;
  status?: string;
  kind?: string;
}

/** The jobs part of the Tandem API. */
export class JobsApi {
  constructor(private readonly client: TandemClient) {}

  list(filter: JobFilter): Promise<JobList> {
    const query = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => Boolean(e[1])));
    return this.client.request(`jobs?${query}`);
  }

  get(id: string): Promise<Job> {
    return this.client.request(`jobs/${id}`);
  }

  /** Events after `after`; waits up to `waitMs` for new ones (long poll). */
  events(id: string, after: number, waitMs: number, signal?: AbortSignal): Promise<JobEvents> {
    return this.client.request(`jobs/${id}/events?after=${after}&waitMs=${waitMs}`, { signal });
  }

  cancel(id: string): Promise<Job> {
    return this.client.request(`jobs/${id}/cancel`, { method: 'POST' });
  }

  retry(id: string): Promise<Job> {
    return this.client.request(`jobs/${id}/retry`, { method: 'POST' });
  }
}
