// The state behind the Jobs panel, without the DOM: the list its filters ask for, and one job
// followed live. The views (panel.ts, job-view.ts) render them and update on their signals.
import type { IDisposable } from '@lumino/disposable';
import { Signal, type ISignal } from '@lumino/signaling';
import { RemoteState } from '../remote-state';
import { FINAL, type Job, type JobEvent, type JobsApi } from './api';

/** What the panel's controls say; empty strings mean "any". */
export interface JobsQuery {
  q: string;
  status: string;
  kind: string;
}

/** The jobs matching `query`; refresh() after changing it. */
export class JobsListModel extends RemoteState<{ jobs: Job[]; total: number }> {
  query: JobsQuery = { q: '', status: '', kind: '' };

  constructor(private readonly api: Pick<JobsApi, 'list'>) {
    super({ jobs: [], total: 0 });
  }

  protected fetch(): Promise<{ jobs: Job[]; total: number }> {
    return this.api.list({ ...this.query, q: this.query.q.trim() });
  }
}

/**
 * One job followed live (long poll on its event cursor) until it has finished: the job as last
 * reported, the last progress or error message, and its log lines as they come (`logged`).
 * `stateChanged` fires when the job or the message changed.
 */
export class JobModel implements IDisposable {
  private job_: Job | undefined;
  private message_ = '';
  private cursor = 0;
  private readonly stop = new AbortController();
  private readonly stateChanged_ = new Signal<this, void>(this);
  private readonly logged_ = new Signal<this, string[]>(this);
  /** Settles when following has ended: the job finished, or the model was disposed. */
  readonly followed: Promise<void>;

  constructor(
    private readonly api: Pick<JobsApi, 'events' | 'cancel' | 'retry'>,
    readonly jobId: string,
    private readonly retryMs = 2000,
  ) {
    this.followed = this.follow();
  }

  /** Undefined until the first answer. */
  get job(): Job | undefined {
    return this.job_;
  }

  /** The last progress message, or the last failure (of following, cancelling or retrying). */
  get message(): string {
    return this.message_;
  }

  get stateChanged(): ISignal<this, void> {
    return this.stateChanged_;
  }

  /** New log lines (and state changes, as `── status` lines), oldest first. */
  get logged(): ISignal<this, string[]> {
    return this.logged_;
  }

  get isDisposed(): boolean {
    return this.stop.signal.aborted;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.stop.abort();
    Signal.clearData(this);
  }

  cancel(): Promise<void> {
    return this.act(() => this.api.cancel(this.jobId));
  }

  /** Starts the job again as a new job; answers its id (undefined when that failed). */
  async retry(): Promise<string | undefined> {
    let id: string | undefined;
    await this.act(async () => (id = (await this.api.retry(this.jobId)).id));
    return id;
  }

  private async follow(): Promise<void> {
    let waitMs = 0;
    while (!this.isDisposed) {
      try {
        const { events, job } = await this.api.events(this.jobId, this.cursor, waitMs, this.stop.signal);
        if (this.isDisposed) return;
        this.absorb(events, job);
        if (FINAL.includes(job.status) && events.length === 0) return;
        waitMs = events.length >= 1000 ? 0 : 10_000;
      } catch (e) {
        if (this.isDisposed) return;
        this.update(this.job_, (e as Error).message);
        await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      }
    }
  }

  private absorb(events: JobEvent[], job: Job): void {
    const lines: string[] = [];
    let message = this.message_;
    for (const event of events) {
      this.cursor = event.id;
      if (event.type === 'log') lines.push(String(event.data.line));
      else if (event.type === 'state')
        lines.push(`── ${String(event.data.status)}${event.data.error ? `: ${String(event.data.error)}` : ''}`);
      else if (event.type === 'progress' && event.data.message) message = String(event.data.message);
    }
    if (lines.length > 0) this.logged_.emit(lines);
    this.update(job, message);
  }

  private update(job: Job | undefined, message: string): void {
    if (message === this.message_ && JSON.stringify(job) === JSON.stringify(this.job_)) return;
    this.job_ = job;
    this.message_ = message;
    this.stateChanged_.emit();
  }

  private async act(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.update(this.job_, (e as Error).message);
    }
  }
}
