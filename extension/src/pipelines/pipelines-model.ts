// The state behind the Jobs panel's Pipelines section, without the DOM: the pipelines (paged, each
// with its last run), the selected pipeline's runs, and the selected run with its steps. The
// server has no event stream for pipelines yet, so a Poller refreshes it: fast while a run is
// active, slowly otherwise, and not at all while the section is hidden. The view (section.ts)
// renders it and updates on `stateChanged`.
import type { IDisposable } from '@lumino/disposable';
import { isActiveRun, type Pipeline, type PipelineRun, type PipelineRunSummary, type PipelinesApi, type PipelineValue } from './api';
import { PagedState } from '../experiments/paged-state';

/** How often the section refreshes while a run it shows is queued or running, and otherwise. */
export const FAST_POLL_MS = 2000;
export const SLOW_POLL_MS = 10_000;

export interface PipelinesState {
  items: Pipeline[];
  total: number;
  nextPageToken?: string;
  /** The selected pipeline (from the page, or read alone when it is on another page). */
  pipeline?: Pipeline;
  /** Its runs, newest first. */
  runs: PipelineRunSummary[];
  /** The selected run (by default the newest), with its steps. */
  run?: PipelineRun;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class PipelinesModel extends PagedState<PipelinesState> {
  private selected_: string | undefined;
  private selectedRun_: string | undefined;
  private message_: string | undefined;
  private busy_ = false;

  constructor(
    private readonly api: Pick<PipelinesApi, 'list' | 'get' | 'define' | 'redefine' | 'runs' | 'run' | 'start' | 'cancel' | 'retry'>,
  ) {
    super({ items: [], total: 0, runs: [] });
  }

  /** The selected pipeline's id. */
  get selected(): string | undefined {
    return this.selected_;
  }

  /** The run shown: the one picked, else the newest. */
  get selectedRun(): string | undefined {
    return this.selectedRun_ ?? this.value.runs[0]?.id;
  }

  /** The last action's failure (starting, cancelling, retrying), kept until the next action or selection. */
  get message(): string | undefined {
    return this.message_;
  }

  /** Whether an action (start, cancel, retry) is on its way: another waits for it (no double runs). */
  get busy(): boolean {
    return this.busy_;
  }

  /** Whether anything shown is still queued or running: polling is fast then. */
  get active(): boolean {
    const { items, runs, run } = this.value;
    return isActiveRun(run) || runs.some(isActiveRun) || items.some((p) => isActiveRun(p.lastRun));
  }

  get pollMs(): number {
    return this.active ? FAST_POLL_MS : SLOW_POLL_MS;
  }

  /** Shows a pipeline's runs (undefined: none). */
  select(id: string | undefined): Promise<void> {
    if (id === this.selected_) return Promise.resolve();
    this.selected_ = id;
    this.selectedRun_ = undefined;
    this.message_ = undefined;
    this.changed();
    return this.refresh();
  }

  /** Shows one of the selected pipeline's runs with its steps. */
  selectRun(runId: string): Promise<void> {
    if (runId === this.selectedRun) return Promise.resolve();
    this.selectedRun_ = runId;
    this.message_ = undefined;
    this.changed();
    return this.refresh();
  }

  /** Starts the selected pipeline now and shows the new run; answers it (undefined when refused). */
  async start(params: Record<string, PipelineValue> = {}): Promise<PipelineRun | undefined> {
    const id = this.selected_;
    if (!id) return undefined;
    const run = await this.act(() => this.api.start(id, params));
    if (run && this.selected_ === id) this.selectedRun_ = run.id;
    await this.refresh();
    return run;
  }

  /**
   * Defines a pipeline from JSON or YAML text (with `id`, replaces that one's definition) and
   * selects it; answers the server's refusal, if any.
   */
  async save(text: string, id?: string): Promise<string | undefined> {
    let pipeline: Pipeline;
    try {
      pipeline = id ? await this.api.redefine(id, text) : await this.api.define(text);
    } catch (error) {
      return message(error);
    }
    this.selected_ = pipeline.id;
    this.selectedRun_ = undefined;
    this.message_ = undefined;
    await this.refresh();
    return undefined;
  }

  async cancel(runId: string): Promise<void> {
    await this.act(() => this.api.cancel(runId));
    await this.refresh();
  }

  /** Runs a failed or cancelled run again from the steps that did not succeed. */
  async retry(runId: string): Promise<void> {
    await this.act(() => this.api.retry(runId));
    await this.refresh();
  }

  protected async fetch(): Promise<PipelinesState> {
    const page = await this.api.list(this.pager.token);
    const id = this.selected_;
    if (!id) return { ...page, runs: [] };
    const [pipeline, runs] = await Promise.all([page.items.find((p) => p.id === id) ?? this.api.get(id), this.api.runs(id)]);
    const runId = this.selectedRun_ ?? runs.items[0]?.id;
    return { ...page, pipeline, runs: runs.items, run: runId ? await this.runOf(runId, runs.items) : undefined };
  }

  /** The run with its steps: re-read unless it had finished and its summary says nothing changed. */
  private runOf(runId: string, runs: PipelineRunSummary[]): Promise<PipelineRun> {
    const known = this.value.run;
    const summary = runs.find((r) => r.id === runId);
    if (known?.id === runId && !isActiveRun(known) && summary?.status === known.status && summary.finishedAt === known.finishedAt)
      return Promise.resolve(known);
    return this.api.run(runId);
  }

  private async act<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (this.busy_) return undefined;
    this.message_ = undefined;
    this.busy_ = true;
    this.changed();
    try {
      return await fn();
    } catch (error) {
      this.message_ = message(error);
      return undefined;
    } finally {
      this.busy_ = false;
      this.changed();
    }
  }
}

/**
 * Calls `tick` again `delay()` ms after the last one answered, skipping it while `visible()` is
 * false; stop() and dispose() end it, start() resumes it.
 */
export class Poller implements IDisposable {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly tick: () => Promise<void>,
    private readonly delay: () => number,
    private readonly visible: () => boolean,
  ) {}

  get isDisposed(): boolean {
    return this.disposed;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    this.stop();
    if (this.disposed) return;
    this.timer = setTimeout(() => void this.fire(), this.delay());
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.disposed = true;
    this.stop();
  }

  private async fire(): Promise<void> {
    const timer = this.timer;
    // Hidden: no requests; polling goes on (cheaply) in case the view is shown without telling.
    if (this.visible()) await this.tick().catch(() => undefined);
    // Restarted or stopped meanwhile: that decided what comes next.
    if (this.timer === timer) this.start();
  }
}
