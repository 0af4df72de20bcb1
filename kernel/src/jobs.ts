/**
 * Jobs in cells: `spark.submit/train` and `gpu.submit/train` return a `Job`. As a cell's value it
 * shows itself as a card that updates in place until the job ends; `await job.wait()` follows it
 * live under the cell (progress, metrics, logs) and resolves, when it succeeded, with its final
 * state (shown as the same card). Interrupting the cell only stops following: the job keeps
 * running until `job.cancel()`.
 */
import type { JobEvent, JobEvents, JobKind, Job as JobInfo, JobList, JobListQuery, JobStatus, SubmitJobRequest } from '@tandem/server/api';
import { apiSettings, request } from './api.js';
import { LiveDisplay } from './display/live.js';
import { displayedAs, showsItself, toMimeBundle } from './display/mime-bundle.js';
import { stageDataMap, type DataSource } from './job-data.js';
import { onInterrupt, type MimeBundle } from './kernel/channel.js';
import { jobCard, jobView, type JobState, type MetricPoint } from './jobs-view.js';
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
const POLL_MS = 15_000;

/** The server's answer shown as the job's card rather than as a raw object. */
const asCard = (info: JobInfo, progressMessage?: string): JobInfo =>
  displayedAs(info, (job) => jobCard({ job, progressMessage, serverUrl: apiSettings().url }));

export class Job {
  private cursor = 0;
  private readonly series: Record<string, MetricPoint[]> = {};
  private readonly logLines: string[] = [];
  private progressMessage?: string;
  /** Views following the job (a wait(), live cards): one reader of its events serves them all. */
  private readonly followers = new Set<() => void>();
  private reading?: { done: Promise<void>; stop: AbortController };

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
    let note: string | undefined;
    const live = options.display === false ? undefined : new LiveDisplay(() => this.view(note));
    live?.draw(true);
    let stopped: (why: 'interrupted' | 'timed out') => void = () => undefined;
    const stopping = new Promise<'interrupted' | 'timed out'>((resolve) => (stopped = resolve));
    const stopInterrupt = onInterrupt(() => stopped('interrupted'));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => stopped('timed out'), options.timeoutMs);
    const following = this.follow(() => live?.draw());
    try {
      const outcome = await Promise.race([following.done.then(() => 'finished' as const), stopping]);
      if (outcome !== 'finished') {
        note = `Stopped following; the job keeps running. job.cancel() stops it (id ${this.id}).`;
        live?.draw(true);
        throw new Error(`${outcome === 'interrupted' ? 'interrupted' : `timed out after ${options.timeoutMs} ms`}: ${note}`);
      }
      live?.draw(true);
    } finally {
      following.stop();
      stopInterrupt();
      clearTimeout(timer);
    }
    if (this.info.status !== 'succeeded') throw new JobError(this.info);
    // The live view above shows the job in full; its value is the compact card.
    return asCard(this.info, this.progressMessage);
  }

  /** Asks the server to cancel; a running job stops once its worker has killed the process. */
  async cancel(): Promise<JobInfo> {
    this.info = await request<JobInfo>(`jobs/${this.id}/cancel`, { method: 'POST' });
    return asCard(this.info);
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
    return asCard(this.info, this.progressMessage);
  }

  /** As a cell's value: the card, kept up to date until the job ends, in the cell that showed it. */
  [showsItself](): void {
    let note: string | undefined;
    const live = new LiveDisplay(() => jobCard({ ...this.state(), note }));
    live.draw(true);
    // Also for a finished job: its last events say how it ended.
    const following = this.follow(() => live.draw());
    following.done
      .catch((error: unknown) => {
        note = `Stopped following: ${(error as Error).message}`;
      })
      .finally(() => {
        following.stop();
        live.draw(true);
      });
  }

  /** The card as it is now (a dashboard or `display(job)` shows a moment). */
  [toMimeBundle](): MimeBundle {
    return jobCard(this.state());
  }

  private state(): JobState {
    return { job: this.info, progressMessage: this.progressMessage, serverUrl: apiSettings().url };
  }

  private view(note?: string): MimeBundle {
    return jobView({ ...this.state(), note, series: this.series, logs: this.logLines });
  }

  /**
   * Calls `onChange` whenever new events or state arrived, until the job has finished (`done`)
   * or `stop()`. Reading stops once no one follows any more.
   */
  private follow(onChange: () => void): { done: Promise<void>; stop(): void } {
    this.followers.add(onChange);
    if (!this.reading || this.reading.stop.signal.aborted) {
      const stop = new AbortController();
      // A reader that was just stopped may still be in its last request: the new one starts after it.
      const done = (this.reading?.done ?? Promise.resolve()).catch(() => undefined).then(() => this.readUntilFinished(stop.signal));
      const reading = { done, stop };
      this.reading = reading;
      const forget = () => {
        if (this.reading === reading) this.reading = undefined;
      };
      done.then(forget, forget);
    }
    const { done, stop } = this.reading;
    return {
      done,
      stop: () => {
        this.followers.delete(onChange);
        if (this.followers.size === 0) stop.abort();
      },
    };
  }

  private async readUntilFinished(signal: AbortSignal): Promise<void> {
    const changed = () => this.followers.forEach((f) => f());
    while (!FINAL.includes(this.info.status)) {
      if (signal.aborted) return;
      await this.poll(POLL_MS, signal);
      changed();
    }
    // Events logged just before the final state may still be unread.
    await this.poll(0);
    changed();
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
      // Reads may overlap (logs() while a view follows): the newest state and each event once.
      if (job.updatedAt >= this.info.updatedAt) this.info = job;
      for (const event of events) if (event.id > this.cursor) this.absorb(event);
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
  /** The experiment its run goes into (name or id; default one named after the job). */
  experiment?: string;
}

/** Submits a script job: its data uploaded first, the rest of `options` as its spec. */
export async function submitScript(kind: JobKind, options: ScriptJobOptions & Record<string, unknown>): Promise<Job> {
  const { name, maxAttempts, model, data, experiment, ...spec } = options;
  return submitJob({
    kind,
    name,
    maxAttempts,
    spec: { ...spec, ...(data ? { data: await stageDataMap(data) } : {}) },
    ...(model ? { register: { model } } : {}),
    ...(experiment ? { experiment } : {}),
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
