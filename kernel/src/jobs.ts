/**
 * Jobs in cells: `spark.submit/train` and `gpu.submit/train` return a `Job`; `await job.wait()`
 * follows it live under the cell (progress, metrics, logs) and resolves when it succeeds.
 * Interrupting the cell only stops following: the job keeps running until `job.cancel()`.
 */
import { randomUUID } from 'node:crypto';
import type { JobEvent, JobEvents, JobKind, Job as JobInfo, JobList, JobListQuery, JobStatus, SubmitJobRequest } from '@tandem/server/api';
import { apiSettings, request } from './api.js';
import { displayedAs, toMimeBundle } from './display/mime-bundle.js';
import { stageDataMap, type DataSource } from './job-data.js';
import { onInterrupt, publishDisplay, type MimeBundle } from './kernel/channel.js';
import { jobHtml, jobText, type JobView, type MetricPoint } from './jobs-view.js';
import { currentNotebook } from './notebook.js';

/** A job as the server answers it. */
export type { JobInfo, JobStatus };

/** What `submitJob` sends; the notebook is added from the kernel's session. */
export type SubmitRequest = Omit<SubmitJobRequest, 'notebook'>;

export class JobError extends Error {
  constructor(readonly job: JobInfo) {
    super(`job ${job.name} (${job.id}) ${job.status}${job.error ? `: ${job.error}` : ''}`);
    this.name = 'JobError';
  }
}

const FINAL: JobStatus[] = ['succeeded', 'failed', 'cancelled'];
const REDRAW_MS = 400;
const POLL_MS = 15_000;

export class Job {
  private cursor = 0;
  private readonly series: Record<string, MetricPoint[]> = {};
  private readonly logLines: string[] = [];
  private progressMessage?: string;

  constructor(public info: JobInfo) {}

  get id(): string {
    return this.info.id;
  }

  get status(): JobStatus {
    return this.info.status;
  }

  /**
   * Follows the job until it finishes, showing it live under the cell; resolves with the final
   * state when it succeeded and throws a JobError (with the job's error) otherwise.
   */
  async wait(options: { display?: boolean; timeoutMs?: number } = {}): Promise<JobInfo> {
    const displayId = randomUUID();
    const show = options.display !== false;
    let shown = false;
    let drawnAt = 0;
    const draw = (force = false, note?: string) => {
      if (!show || (!force && Date.now() - drawnAt < REDRAW_MS)) return;
      publishDisplay(this.bundle(note), { displayId, update: shown });
      shown = true;
      drawnAt = Date.now();
    };
    const stop = new AbortController();
    const stopInterrupt = onInterrupt(() => stop.abort());
    const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Infinity;
    try {
      draw(true);
      while (!FINAL.includes(this.info.status)) {
        if (stop.signal.aborted || Date.now() > deadline) {
          const note = `Stopped following; the job keeps running. job.cancel() stops it (id ${this.id}).`;
          draw(true, note);
          throw new Error(stop.signal.aborted ? `interrupted: ${note}` : `timed out after ${options.timeoutMs} ms: ${note}`);
        }
        await this.poll(Math.min(POLL_MS, deadline - Date.now()), stop.signal);
        draw();
      }
      // Events logged just before the final state may still be unread.
      await this.poll(0);
      draw(true);
    } finally {
      stopInterrupt();
    }
    if (this.info.status !== 'succeeded') throw new JobError(this.info);
    // The live view above already shows the job; its value is a one-line summary, not the raw state.
    return displayedAs(this.info, () => ({ 'text/plain': this.bundle()['text/plain'] }));
  }

  /** Asks the server to cancel; a running job stops once its worker has killed the process. */
  async cancel(): Promise<JobInfo> {
    this.info = await request<JobInfo>(`jobs/${this.id}/cancel`, { method: 'POST' });
    return this.info;
  }

  /** Every log line so far (stdout, stderr and the worker's own notes). */
  async logs(): Promise<string[]> {
    await this.poll(0);
    return [...this.logLines];
  }

  /** Metric series reported so far, by name. */
  metrics(): Record<string, MetricPoint[]> {
    return structuredClone(this.series);
  }

  async refresh(): Promise<JobInfo> {
    this.info = await request<JobInfo>(`jobs/${this.id}`);
    return this.info;
  }

  [toMimeBundle](): MimeBundle {
    return this.bundle(FINAL.includes(this.info.status) ? undefined : 'await job.wait() to follow it here');
  }

  private bundle(note?: string): MimeBundle {
    const view: JobView = {
      job: this.info,
      series: this.series,
      logs: this.logLines,
      progressMessage: this.progressMessage,
      serverUrl: apiSettings().url,
      note,
    };
    return { 'text/html': jobHtml(view), 'text/plain': jobText(view) };
  }

  /** Reads new events (long-polling up to `waitMs`) and the job's current state. */
  private async poll(waitMs: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const { events, job } = await request<JobEvents>(
        `jobs/${this.id}/events?after=${this.cursor}&waitMs=${Math.max(0, Math.floor(waitMs))}`,
        signal ? { signal } : {},
      ).catch((error: unknown) => {
        if (signal?.aborted) return { events: [], job: this.info };
        throw error;
      });
      this.info = job;
      for (const event of events) this.absorb(event);
      // A full page means more are waiting: read on without waiting.
      if (events.length < 1000) return;
      waitMs = 0;
    }
  }

  private absorb(event: JobEvent): void {
    this.cursor = event.id;
    if (event.type === 'log') this.logLines.push(String(event.data.line));
    else if (event.type === 'progress' && typeof event.data.message === 'string') this.progressMessage = event.data.message;
    else if (event.type === 'metric') {
      for (const [name, value] of Object.entries(event.data)) {
        if (name === 'step' || typeof value !== 'number') continue;
        const points = (this.series[name] ??= []);
        points.push({ step: typeof event.data.step === 'number' ? event.data.step : points.length, value });
      }
    }
  }
}

/** Submits a job; the notebook (when Jupyter names it) becomes the model's lineage. */
export async function submitJob(body: SubmitRequest): Promise<Job> {
  const notebook = currentNotebook();
  const json: SubmitJobRequest = { ...body, ...(notebook ? { notebook } : {}) };
  return new Job(await request<JobInfo>('jobs', { method: 'POST', json }));
}

/** What `spark.submit` and `gpu.submit` share: the job's settings around its spec. */
export interface ScriptJobOptions {
  name?: string;
  maxAttempts?: number;
  /** Register the files the script writes to TANDEM_OUTPUT_DIR as a new version of this model. */
  model?: string;
  /**
   * Data the script reads, by name: files, `s3://` objects or tables (uploaded, so workers on
   * other machines get them). In the script, `tandem_job.data('name')` is the file's local path.
   */
  data?: Record<string, DataSource>;
}

/** Submits a script job: its data uploaded first, the rest of `options` as its spec. */
export async function submitScript(kind: JobKind, options: ScriptJobOptions & Record<string, unknown>): Promise<Job> {
  const { name, maxAttempts, model, data, ...spec } = options;
  return submitJob({
    kind,
    name,
    maxAttempts,
    spec: { ...spec, ...(data ? { data: await stageDataMap(data) } : {}) },
    ...(model ? { register: { model } } : {}),
  });
}

export const jobs = {
  async get(id: string): Promise<Job> {
    return new Job(await request<JobInfo>(`jobs/${encodeURIComponent(id)}`));
  },
  async list(filter: Omit<JobListQuery, 'offset'> = {}): Promise<JobInfo[]> {
    const query = new URLSearchParams(Object.entries(filter).map(([k, v]): [string, string] => [k, String(v)]));
    return (await request<JobList>(`jobs?${query}`)).jobs;
  },
};
