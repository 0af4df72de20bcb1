// The state behind the compare view, without the DOM: the compared runs, the metrics chosen for
// curves, their series, and the metric the parallel coordinates end on. The view
// (compare-view.ts) renders it and updates on `stateChanged`.
import { RemoteState } from '../remote-state';
import type { ExperimentsApi, Run } from './api';
import { keysOf } from './runs-model';

/** How many metrics get a chart before the person picks: more would bury the page. */
const DEFAULT_CHARTS = 6;

/** A series as charts draw it: [step, value] with the NaN and infinite points left out. */
export type Curve = [number, number][];

export interface CompareState {
  runs: Run[];
  /** metric key → run id → its curve (runs without the metric have none). */
  curves: Record<string, Record<string, Curve>>;
}

/** A param's values across the compared runs, and whether they differ (a run without it counts as a value). */
export interface ParamRow {
  key: string;
  values: (string | undefined)[];
  differs: boolean;
}

export function paramRows(runs: readonly Run[]): ParamRow[] {
  return keysOf(runs).params.map((key) => {
    const values = runs.map((r) => r.params[key]);
    return { key, values, differs: new Set(values).size > 1 };
  });
}

/** The compared runs, re-read at each refresh (they may still be running). */
export class CompareModel extends RemoteState<CompareState> {
  private chosen?: string[];
  private axis?: string;

  constructor(
    private readonly api: Pick<ExperimentsApi, 'run' | 'metricHistory'>,
    readonly runIds: readonly string[],
  ) {
    super({ runs: [], curves: {} });
  }

  get metricKeys(): string[] {
    return keysOf(this.value.runs).metrics;
  }

  /** The metrics that get a chart of their curves. */
  get metrics(): string[] {
    return this.chosen ?? this.metricKeys.slice(0, DEFAULT_CHARTS);
  }

  /** Adds or removes a metric's chart; its series are fetched then. */
  toggleMetric(key: string): Promise<void> {
    const metrics = this.metrics;
    this.chosen = metrics.includes(key) ? metrics.filter((k) => k !== key) : [...metrics, key];
    return this.refresh();
  }

  /** The metric the parallel coordinates end on (and colour lines by). */
  get axisMetric(): string | undefined {
    return this.axis && this.metricKeys.includes(this.axis) ? this.axis : this.metricKeys[0];
  }

  setAxisMetric(key: string): void {
    this.axis = key;
    this.changed();
  }

  protected async fetch(): Promise<CompareState> {
    const runs = await Promise.all(this.runIds.map((id) => this.api.run(id)));
    const metrics = this.chosen ?? keysOf(runs).metrics.slice(0, DEFAULT_CHARTS);
    const curves: CompareState['curves'] = {};
    await Promise.all(
      metrics.flatMap((key) =>
        runs
          .filter((run) => key in run.metrics)
          .map(async (run) => {
            const points = await this.api.metricHistory(run.id, key);
            (curves[key] ??= {})[run.id] = points
              .map((p): [number, number] => [p.step, Number(p.value)])
              .filter(([, v]) => Number.isFinite(v));
          }),
      ),
    );
    return { runs, curves };
  }
}
