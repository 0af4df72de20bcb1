import type { TandemClient } from '../requests';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const FINAL: JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface Job {
  id: string;
  kind: 'spark' | 'gpu';
  name: string;
  status: JobStatus;
  attempt: number;
  maxAttempts: number;
  progress: number | null;
  metrics: Record<string, number>;
  error: string | null;
  result: { model?: string; version?: number } | null;
  cancelRequested: boolean;
  createdAt: string;
  finishedAt: string | null;
}

export interface JobEvent {
  id: number;
  attempt: number;
  at: string;
  type: 'log' | 'metric' | 'progress' | 'state';
  data: Record<string, unknown>;
}

export interface JobFilter {
  q?: string;
  status?: string;
  kind?: string;
}

/** The jobs part of the Tandem API. */
export class JobsApi {
  constructor(private readonly client: TandemClient) {}

  list(filter: JobFilter): Promise<{ jobs: Job[]; total: number }> {
    const query = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => Boolean(e[1])));
    return this.client.request(`jobs?${query}`);
  }

  get(id: string): Promise<Job> {
    return this.client.request(`jobs/${id}`);
  }

  /** Events after `after`; waits up to `waitMs` for new ones (long poll). */
  events(id: string, after: number, waitMs: number, signal?: AbortSignal): Promise<{ events: JobEvent[]; job: Job }> {
    return this.client.request(`jobs/${id}/events?after=${after}&waitMs=${waitMs}`, { signal });
  }

  cancel(id: string): Promise<Job> {
    return this.client.request(`jobs/${id}/cancel`, { method: 'POST' });
  }

  retry(id: string): Promise<Job> {
    return this.client.request(`jobs/${id}/retry`, { method: 'POST' });
  }
}
