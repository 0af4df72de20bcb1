import type { DeploymentSettings, DeploymentStatus, PredictResponse } from '../api/index.js';
import { TandemError } from '../errors.js';
import type { Encoded, LoadedModel } from './serving.model.js';

/**
 * Batches in flight per runner. Two, so that the next batch is formed and encoded while one
 * runs; more would only queue inside onnxruntime, where no timeout or queue limit applies.
 */
const MAX_IN_FLIGHT = 2;
/** A version that failed to load is tried again after this long (the cause may be an outage). */
const RETRY_FAILED_MS = 30_000;

interface Pending {
  model: LoadedModel;
  encoded: Encoded;
  arrivedAt: number;
  state: 'queued' | 'running' | 'answered';
  timer: NodeJS.Timeout;
  resolve(answer: PredictResponse): void;
  reject(error: TandemError): void;
}

export interface RunnerHooks {
  /** Loads version `n` (download, checks, warm-up); its error is shown as the last error. */
  load(version: number): Promise<LoadedModel>;
  /** A batch of `rows` rows is about to run. */
  batched(rows: number): void;
  /** The version answering changed (null: none). */
  swapped(version: number | null): void;
  failed(version: number | null, error: unknown): void;
}

/**
 * What serves one deployment (or one pinned version) in this process: the loaded version, the
 * one loading to replace it, and the queue of requests micro-batched onto the model.
 *
 * Hot swap: a new version loads beside the serving one and replaces it only once it loaded and
 * passed its warm-up. Requests keep the version they were checked against, so those queued or
 * running at the swap finish on the old version, which is released after the last of them.
 */
export class Runner {
  private current: LoadedModel | undefined;
  private loadingVersion: number | null = null;
  private generation = 0;
  private lastError: { version: number | null; message: string; at: Date } | null = null;
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private waitTimer: NodeJS.Timeout | undefined;
  /** Requests queued or running per version, so that a replaced version is released only when idle. */
  private readonly users = new Map<LoadedModel, number>();
  private readonly retired = new Set<LoadedModel>();
  private closed = false;
  private loading: Promise<void> = Promise.resolve();

  constructor(
    public settings: DeploymentSettings,
    private readonly hooks: RunnerHooks,
  ) {}

  status(): DeploymentStatus {
    return {
      state: this.current ? 'ready' : this.loadingVersion !== null ? 'loading' : 'unavailable',
      servedVersion: this.current?.version ?? null,
      loadingVersion: this.loadingVersion,
      lastError: this.lastError && { ...this.lastError, at: this.lastError.at.toISOString() },
    };
  }

  get servedVersion(): number | null {
    return this.current?.version ?? null;
  }

  /**
   * Serves `version` from now on (null: the alias points nowhere, so nothing is served). Loads it
   * in the background unless it is already served or loading; a version that just failed is not
   * tried again before RETRY_FAILED_MS.
   */
  follow(version: number | null, why = 'the alias points at no version'): void {
    if (this.closed) return;
    if (version === null) {
      // Reconciles repeat this while the alias stays unset: keep the first error's time, log once.
      if (!this.current && this.loadingVersion === null && this.lastError?.version === null) return;
      this.generation++;
      this.loadingVersion = null;
      if (this.current) this.retire(this.current);
      this.current = undefined;
      this.lastError = { version: null, message: why, at: new Date() };
      this.hooks.swapped(null);
      this.failQueued(new TandemError('UNAVAILABLE', why));
      return;
    }
    if (this.loadingVersion === version) return;
    if (this.current?.version === version && this.loadingVersion === null) return;
    if (this.current?.version === version) {
      // Back to the version serving: drop the load that would have replaced it.
      this.generation++;
      this.loadingVersion = null;
      return;
    }
    if (this.lastError?.version === version && Date.now() - this.lastError.at.getTime() < RETRY_FAILED_MS) return;
    const generation = ++this.generation;
    this.loadingVersion = version;
    this.loading = this.hooks.load(version).then(
      (model) => {
        if (generation !== this.generation || this.closed) {
          void model.release().catch(() => undefined);
          return;
        }
        const previous = this.current;
        this.current = model;
        this.loadingVersion = null;
        this.lastError = null;
        if (previous) this.retire(previous);
        this.hooks.swapped(model.version);
      },
      (error: unknown) => {
        if (generation !== this.generation || this.closed) return;
        this.loadingVersion = null;
        this.lastError = { version, message: error instanceof Error ? error.message : String(error), at: new Date() };
        this.hooks.failed(version, error);
      },
    );
  }

  /** Resolves once the load under way (if any) has succeeded or failed. */
  settled(): Promise<void> {
    return this.loading;
  }

  /** Checks the request against the serving version and answers once its batch ran. */
  predict(body: { rows: Record<string, unknown>[] } | { columns: Record<string, unknown[]> }): Promise<PredictResponse> {
    const model = this.current;
    if (!model) {
      const state = this.status();
      throw new TandemError(
        'UNAVAILABLE',
        state.state === 'loading'
          ? `no version is loaded yet: version ${state.loadingVersion} is loading`
          : `no version is loaded${state.lastError ? `: ${state.lastError.message}` : ''}`,
      );
    }
    const encoded = model.encode(body);
    if (this.queue.length >= this.settings.queueLimit) {
      throw new TandemError(
        'TOO_MANY_REQUESTS',
        `the deployment's queue is full (${this.settings.queueLimit} requests waiting): retry later`,
        {
          details: { retryAfterSeconds: 1 },
        },
      );
    }
    return new Promise<PredictResponse>((resolve, reject) => {
      const pending: Pending = {
        model,
        encoded,
        arrivedAt: Date.now(),
        state: 'queued',
        resolve,
        reject,
        timer: setTimeout(() => this.timedOut(pending), this.settings.timeoutMs),
      };
      this.users.set(model, (this.users.get(model) ?? 0) + 1);
      this.queue.push(pending);
      this.dispatch();
    });
  }

  /** Stops serving: queued requests are refused, running ones finish, then every version is released. */
  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    clearTimeout(this.waitTimer);
    this.failQueued(new TandemError('UNAVAILABLE', 'the deployment was removed'));
    if (this.current) this.retire(this.current);
    this.current = undefined;
    this.loadingVersion = null;
  }

  private dispatch(): void {
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const head = this.queue[0]!;
      const { maxBatchSize, maxWaitMs } = this.settings;
      let count = 1;
      let rows = head.encoded.rows;
      if (head.model.batchable) {
        while (count < this.queue.length) {
          const next = this.queue[count]!;
          if (next.model !== head.model || rows + next.encoded.rows > maxBatchSize) break;
          rows += next.encoded.rows;
          count++;
        }
      }
      // Waiting longer cannot grow the batch when it is full or something that cannot join it is next.
      const complete = !head.model.batchable || rows >= maxBatchSize || count < this.queue.length;
      const waited = Date.now() - head.arrivedAt;
      if (!complete && waited < maxWaitMs) {
        this.waitTimer = setTimeout(() => this.dispatch(), maxWaitMs - waited);
        return;
      }
      this.runBatch(this.queue.splice(0, count), rows);
    }
  }

  private runBatch(batch: Pending[], rows: number): void {
    const model = batch[0]!.model;
    this.inFlight++;
    for (const p of batch) p.state = 'running';
    this.hooks.batched(rows);
    model
      .run(batch.map((p) => p.encoded))
      .then(
        (answers) => {
          batch.forEach((p, i) => this.answer(p, () => p.resolve({ predictions: answers[i]!, version: model.version })));
        },
        (error: unknown) => {
          const failure =
            error instanceof TandemError
              ? error
              : new TandemError('INTERNAL', `version ${model.version} failed to run: ${String(error)}`, { cause: error });
          batch.forEach((p) => this.answer(p, () => p.reject(failure)));
        },
      )
      .finally(() => {
        this.inFlight--;
        for (const p of batch) this.done(p.model);
        this.dispatch();
      });
  }

  private answer(p: Pending, settle: () => void): void {
    if (p.state === 'answered') return;
    p.state = 'answered';
    clearTimeout(p.timer);
    settle();
  }

  private timedOut(p: Pending): void {
    if (p.state === 'answered') return;
    if (p.state === 'queued') {
      const at = this.queue.indexOf(p);
      if (at >= 0) this.queue.splice(at, 1);
      this.done(p.model);
    }
    // A running request's batch still completes (the others in it may be in time); its answer is dropped.
    p.state = 'answered';
    p.reject(new TandemError('DEADLINE_EXCEEDED', `no answer within ${this.settings.timeoutMs} ms`));
  }

  private failQueued(error: TandemError): void {
    for (const p of this.queue.splice(0)) {
      this.answer(p, () => p.reject(error));
      this.done(p.model);
    }
  }

  private done(model: LoadedModel): void {
    const left = (this.users.get(model) ?? 1) - 1;
    if (left > 0) this.users.set(model, left);
    else {
      this.users.delete(model);
      if (this.retired.delete(model)) void model.release().catch(() => undefined);
    }
  }

  private retire(model: LoadedModel): void {
    if (this.users.has(model)) this.retired.add(model);
    else void model.release().catch(() => undefined);
  }
}
