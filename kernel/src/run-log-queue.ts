/**
 * What a run logs, queued in memory and sent in batches (`POST /runs/:id/log`), so that a training
 * loop calling `run.log` thousands of times a second never waits for the network. One batch is in
 * flight at a time, so points arrive in the order they were logged. A batch that cannot be stored
 * is counted, and the failure is reported once by the next `flush()`: it never becomes an
 * unhandled rejection.
 */
import type { LogBatchRequest, MetricPointRequest } from '@tandem/server/api';
import { TandemApiError } from './api.js';

export interface LogQueueOptions {
  /** How long logged data may wait before it is sent (ms). */
  intervalMs?: number;
  /** Points per batch: a full batch is sent at once (the server takes at most 10,000 per call). */
  maxPoints?: number;
  /** Delays before retrying a batch the server could not take for now (network, 5xx, 429). */
  retryDelaysMs?: number[];
}

/** Some logged data could not be stored; `cause` is the first failure. */
export class RunLogError extends Error {
  constructor(
    message: string,
    readonly lostPoints: number,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'RunLogError';
  }
}

const MAX_KEYS = 1000;

export class RunLogQueue {
  private points: MetricPointRequest[] = [];
  private params = new Map<string, string>();
  private tags = new Map<string, string | null>();
  private timer?: NodeJS.Timeout;
  private sending?: Promise<void>;
  private failure?: { first: unknown; batches: number; points: number };
  private readonly intervalMs: number;
  private readonly maxPoints: number;
  private readonly retryDelaysMs: number[];

  constructor(
    private readonly send: (batch: LogBatchRequest) => Promise<void>,
    /** Names the run in error messages. */
    private readonly label: string,
    options: LogQueueOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 200;
    this.maxPoints = options.maxPoints ?? 10_000;
    this.retryDelaysMs = options.retryDelaysMs ?? [200, 1000, 3000];
  }

  metric(point: MetricPointRequest): void {
    this.points.push(point);
    this.schedule();
  }

  param(key: string, value: string): void {
    this.params.set(key, value);
    this.schedule();
  }

  tag(key: string, value: string | null): void {
    this.tags.set(key, value);
    this.schedule();
  }

  /** Sends everything queued so far; throws a RunLogError if anything logged since the last flush was lost. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.sending || this.pending()) {
      if (!this.sending) this.sending = this.drain();
      await this.sending;
    }
    const failure = this.failure;
    if (!failure) return;
    this.failure = undefined;
    const cause = failure.first;
    const what = `${failure.batches} batch${failure.batches === 1 ? '' : 'es'} (${failure.points.toLocaleString('en-US')} metric points)`;
    throw new RunLogError(`run ${this.label}: ${what} could not be stored: ${(cause as Error)?.message ?? String(cause)}`, failure.points, {
      cause,
    });
  }

  /** Stops sending on its own; what is still queued goes out with the next `flush()`. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pending(): boolean {
    return this.points.length > 0 || this.params.size > 0 || this.tags.size > 0;
  }

  private schedule(): void {
    if (this.sending) return; // the batch in flight sends the rest when it is done
    if (this.points.length >= this.maxPoints || this.params.size >= MAX_KEYS || this.tags.size >= MAX_KEYS) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.sending = this.drain();
    } else
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.sending ??= this.drain();
      }, this.intervalMs).unref();
  }

  /** Sends batches until nothing is queued; never rejects. */
  private async drain(): Promise<void> {
    try {
      while (this.pending()) await this.sendOne(this.take());
    } finally {
      this.sending = undefined;
    }
  }

  private take(): LogBatchRequest {
    const metrics = this.points.length <= this.maxPoints ? this.points : this.points.slice(0, this.maxPoints);
    this.points = metrics === this.points ? [] : this.points.slice(this.maxPoints);
    const batch: LogBatchRequest = {};
    if (metrics.length > 0) batch.metrics = metrics;
    if (this.params.size > 0) {
      const params = [...this.params].slice(0, MAX_KEYS);
      for (const [key] of params) this.params.delete(key);
      batch.params = Object.fromEntries(params);
    }
    if (this.tags.size > 0) {
      const tags = [...this.tags].slice(0, MAX_KEYS);
      for (const [key] of tags) this.tags.delete(key);
      batch.tags = Object.fromEntries(tags);
    }
    return batch;
  }

  private async sendOne(batch: LogBatchRequest): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.send(batch);
      } catch (error) {
        const delay = this.retryDelaysMs[attempt];
        if (delay !== undefined && transient(error)) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        this.failure ??= { first: error, batches: 0, points: 0 };
        this.failure.batches += 1;
        this.failure.points += batch.metrics?.length ?? 0;
        return;
      }
    }
  }
}

/** Failures worth a retry: the server was unreachable, overloaded or restarting. */
const transient = (error: unknown) =>
  error instanceof TandemApiError && (error.code === 'NETWORK' || error.status === 429 || error.status >= 500);
