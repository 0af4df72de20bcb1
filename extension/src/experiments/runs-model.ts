// The state behind an experiment's runs table, without the DOM: the filter, the ordering, the
// page, the chosen param/metric columns and the selection, and live updates from the experiment's
// events. The view (runs-view.ts) renders it and updates on `stateChanged`.
import { TandemApiError } from '../requests';
import type { ExperimentEvent, ExperimentsApi, MetricPoint, Run } from './api';
import { PagedState } from './paged-state';

const RUNS_PAGE_SIZE = 50;
/** Compare needs at least two runs and draws at most this many lines per chart. */
export const COMPARE_MIN = 2;
export const COMPARE_MAX = 10;

/** A column of the table: a fixed one, or `params.<key>` / `metrics.<key>`. */
export type Column = 'name' | 'status' | 'start' | 'duration' | `params.${string}` | `metrics.${string}`;

/** How the server orders by each sortable column (duration is not an attribute it stores). */
const ORDER_FIELDS: Partial<Record<Column, string>> = {
  name: 'attributes.run_name',
  status: 'attributes.status',
  start: 'attributes.start_time',
};

export interface Sort {
  column: Column;
  desc: boolean;
}

export interface RunsState {
  runs: Run[];
  nextPageToken?: string;
  /** The server's message when it refused the filter (a 400): it names the offending token. */
  filterError?: string;
}

/** A key as the filter syntax spells it: plain when it can be, else in backquotes. */
const field = (prefix: string, key: string) => `${prefix}.${/^[A-Za-z0-9_.\-/:]+$/.test(key) ? key : `\`${key}\``}`;

/** The `orderBy` the server takes for a sort, or undefined when the column cannot be sorted by. */
export function orderByOf(sort: Sort): string | undefined {
  const [prefix, ...rest] = sort.column.split('.');
  const name = ORDER_FIELDS[sort.column] ?? (rest.length > 0 ? field(prefix!, rest.join('.')) : undefined);
  return name && `${name} ${sort.desc ? 'DESC' : 'ASC'}`;
}

export function isSortable(column: Column): boolean {
  return orderByOf({ column, desc: false }) !== undefined;
}

/** A metric point's value as a number (the wire spells NaN and infinities as strings). */
export const metricNumber = (point: MetricPoint | undefined): number | undefined => (point === undefined ? undefined : Number(point.value));

/** Milliseconds the run has taken so far (until `now` while it runs). */
export function durationMs(run: Run, now = Date.now()): number {
  return (run.endTime ? Date.parse(run.endTime) : now) - Date.parse(run.startTime);
}

/** The param and metric keys the runs have, sorted: what the column picker offers. */
export function keysOf(runs: readonly Run[]): { params: string[]; metrics: string[] } {
  const params = new Set<string>();
  const metrics = new Set<string>();
  for (const run of runs) {
    for (const key of Object.keys(run.params)) params.add(key);
    for (const key of Object.keys(run.metrics)) metrics.add(key);
  }
  return { params: [...params].sort(), metrics: [...metrics].sort() };
}

/** One experiment's runs as the table's controls ask for them; refresh() after changing a control. */
export class RunsModel extends PagedState<RunsState> {
  private filter_ = '';
  private sort_: Sort = { column: 'start', desc: true };
  private chosen?: Column[];
  private readonly selected_ = new Map<string, Run>();

  constructor(
    private readonly api: Pick<ExperimentsApi, 'searchRuns' | 'run'>,
    readonly experimentId: string,
  ) {
    super({ runs: [] });
  }

  get filter(): string {
    return this.filter_;
  }

  get sort(): Sort {
    return this.sort_;
  }

  /** A new filter starts at the first page. */
  setFilter(filter: string): Promise<void> {
    if (filter.trim() !== this.filter_) this.pager.reset();
    this.filter_ = filter.trim();
    return this.refresh();
  }

  /** Sorts by `column`: a second click on the same column flips the direction. */
  sortBy(column: Column): Promise<void> {
    if (!isSortable(column)) return Promise.resolve();
    this.sort_ = { column, desc: this.sort_.column === column ? !this.sort_.desc : column === 'start' || column.startsWith('metrics.') };
    this.pager.reset();
    return this.refresh();
  }

  /** The param/metric columns shown: the ones chosen, else the first few keys the runs have. */
  get columns(): Column[] {
    if (this.chosen) return this.chosen;
    const { params, metrics } = keysOf(this.value.runs);
    return [...params.slice(0, 3).map((k) => `params.${k}` as const), ...metrics.slice(0, 4).map((k) => `metrics.${k}` as const)];
  }

  /** Shows or hides a param/metric column. */
  toggleColumn(column: Column): void {
    const columns = this.columns;
    this.chosen = columns.includes(column) ? columns.filter((c) => c !== column) : [...columns, column];
    this.changed();
  }

  /** The selected runs, kept across pages and refreshes, in the order they were picked. */
  get selected(): Run[] {
    return [...this.selected_.values()];
  }

  isSelected(id: string): boolean {
    return this.selected_.has(id);
  }

  toggleSelected(run: Run): void {
    if (!this.selected_.delete(run.id)) this.selected_.set(run.id, run);
    this.changed();
  }

  get canCompare(): boolean {
    return this.selected_.size >= COMPARE_MIN && this.selected_.size <= COMPARE_MAX;
  }

  /**
   * Follows the experiment's event stream: a run that logged or changed is re-read and its row
   * replaced where it is; new, deleted and restored runs change which runs the page holds, so the
   * page is searched again.
   */
  async applyEvent(event: ExperimentEvent): Promise<void> {
    if (event.experimentId !== this.experimentId) return;
    if ((event.type === 'run.logged' || event.type === 'run.updated') && event.runId) {
      if (!this.value.runs.some((r) => r.id === event.runId)) return;
      let run: Run;
      try {
        run = await this.api.run(event.runId);
      } catch {
        // Gone meanwhile (deleted, or access lost): the next refresh says so.
        return;
      }
      const runs = this.value.runs.map((r) => (r.id === run.id ? run : r));
      if (this.selected_.has(run.id)) this.selected_.set(run.id, run);
      this.replace({ ...this.value, runs });
    } else if (event.type.startsWith('run.')) await this.refresh();
  }

  protected async fetch(): Promise<RunsState> {
    try {
      const page = await this.api.searchRuns({
        experimentId: this.experimentId,
        filter: this.filter_ || undefined,
        orderBy: orderByOf(this.sort_),
        limit: RUNS_PAGE_SIZE,
        pageToken: this.pager.token,
      });
      return { runs: page.items, nextPageToken: page.nextPageToken };
    } catch (error) {
      // Answered as state, not as a failure, so it goes under the filter box and the rows stay.
      if (error instanceof TandemApiError && error.status === 400) return { ...this.value, filterError: error.message };
      throw error;
    }
  }
}
