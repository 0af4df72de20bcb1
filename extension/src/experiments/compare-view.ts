import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { h, KeyedRows } from '../dom';
import type { ExperimentEvent, ExperimentsApi, Run } from './api';
import { curvesChart, parallelCoordinates, RUN_COLORS } from './charts';
import { CompareModel, paramRows } from './compare-model';

/** Events of compared runs that are still running come in bursts: one refresh per this many ms. */
const REFRESH_MS = 1000;

/** A part of the view, rebuilt only when what it shows (`data`) changed. */
interface Part {
  key: string;
  data: unknown;
}

let count = 0;

/**
 * Main-area view of 2–10 runs side by side: one chart per chosen metric with a curve per run,
 * parallel coordinates of the params against a chosen metric, and the params table with the
 * values that differ highlighted. It follows the experiments' event streams while runs log.
 */
export class CompareView extends Widget {
  readonly model: CompareModel;
  private readonly parts = new KeyedRows<Part>(
    this.node,
    (part) => part.key,
    (part) => this.build(part),
  );
  private readonly stops: (() => void)[];
  private timer?: number;

  constructor(
    api: ExperimentsApi,
    runs: Run[],
    private readonly trans: TranslationBundle,
  ) {
    super();
    this.id = `tandem-experiments-compare-${++count}`;
    this.addClass('tandem-experiments-compare-view');
    this.title.label = trans.__('Compare %1 runs', runs.length);
    this.title.caption = runs.map((r) => r.name).join(', ');
    this.title.closable = true;
    this.model = new CompareModel(
      api,
      runs.map((r) => r.id),
    );
    this.model.stateChanged.connect(this.render, this);
    const experiments = [...new Set(runs.map((r) => r.experimentId))];
    this.stops = experiments.map((id) => api.events(id, (event) => this.onEvent(event)));
    this.render();
    void this.model.refresh();
  }

  override dispose(): void {
    window.clearTimeout(this.timer);
    for (const stop of this.stops) stop();
    this.model.dispose();
    super.dispose();
  }

  private onEvent(event: ExperimentEvent): void {
    if (!event.runId || !this.model.runIds.includes(event.runId) || this.timer !== undefined) return;
    this.timer = window.setTimeout(() => {
      this.timer = undefined;
      void this.model.refresh();
    }, REFRESH_MS);
  }

  private get colors(): Map<string, string> {
    return new Map(this.model.runIds.map((id, i) => [id, RUN_COLORS[i % RUN_COLORS.length]!]));
  }

  private render(): void {
    const { runs, curves } = this.model.value;
    const parts: Part[] = [{ key: 'header', data: [runs.map((r) => [r.id, r.name, r.status]), this.model.error, this.model.loaded] }];
    if (runs.length > 0) {
      const metrics = this.model.metrics;
      parts.push({ key: 'picker', data: [this.model.metricKeys, metrics] });
      for (const metric of metrics) parts.push({ key: `curve:${metric}`, data: [runs.map((r) => r.name), curves[metric] ?? {}] });
      parts.push({ key: 'parallel', data: [runs.map((r) => [r.name, r.params, r.metrics]), this.model.axisMetric, this.model.metricKeys] });
      parts.push({ key: 'params', data: runs.map((r) => [r.name, r.params]) });
    }
    this.parts.update(parts);
  }

  private build(part: Part): HTMLElement {
    const trans = this.trans;
    const { runs, curves } = this.model.value;
    const colors = this.colors;
    if (part.key === 'header') {
      const error = this.model.error;
      return h(
        'div',
        { class: 'tandem-experiments-compare-header' },
        h('h2', {}, trans.__('Compare runs')),
        error ? h('div', { class: 'tandem-experiments-error', role: 'alert' }, error) : null,
        !this.model.loaded ? h('div', { class: 'tandem-experiments-status' }, trans.__('Loading…')) : null,
        h(
          'ul',
          { class: 'tandem-experiments-legend' },
          ...runs.map((r) =>
            h(
              'li',
              { 'data-run': r.id },
              h('span', { class: 'tandem-experiments-swatch', style: `background:${colors.get(r.id)}` }),
              `${r.name} (${r.status})`,
            ),
          ),
        ),
      );
    }
    if (part.key === 'picker') {
      const chosen = this.model.metrics;
      return this.section(
        trans.__('Metrics'),
        this.model.metricKeys.length === 0
          ? h('p', {}, trans.__('These runs have logged no metrics.'))
          : h(
              'div',
              { class: 'tandem-experiments-picker-keys' },
              ...this.model.metricKeys.map((key) =>
                h(
                  'label',
                  { class: 'tandem-experiments-picker-key' },
                  h('input', { type: 'checkbox', checked: chosen.includes(key), onchange: () => void this.model.toggleMetric(key) }),
                  key,
                ),
              ),
            ),
      );
    }
    if (part.key.startsWith('curve:')) {
      const metric = part.key.slice(6);
      const byRun = curves[metric] ?? {};
      const lines = runs.map((r) => ({ runId: r.id, label: r.name, color: colors.get(r.id)!, points: byRun[r.id] ?? [] }));
      return h(
        'figure',
        { class: 'tandem-experiments-figure', 'data-metric': metric },
        h('figcaption', {}, metric),
        curvesChart(metric, lines, trans.__('%1 over steps', metric)),
      );
    }
    if (part.key === 'parallel') {
      const axis = this.model.axisMetric;
      const select = h(
        'select',
        { 'aria-label': trans.__('metric axis'), onchange: (e) => this.model.setAxisMetric((e.target as HTMLSelectElement).value) },
        ...this.model.metricKeys.map((key) => h('option', { value: key, selected: key === axis }, key)),
      );
      const params = paramRows(runs).map((r) => r.key);
      return this.section(
        trans.__('Params against a metric'),
        h('div', { class: 'tandem-experiments-controls' }, this.model.metricKeys.length > 0 ? select : ''),
        parallelCoordinates(runs, params, axis, colors, trans.__('parallel coordinates of params and %1', axis ?? '')),
      );
    }
    const rows = paramRows(runs);
    return this.section(
      trans.__('Params'),
      rows.length === 0
        ? h('p', {}, trans.__('These runs have no params.'))
        : h(
            'table',
            { class: 'tandem-experiments-params' },
            h(
              'thead',
              {},
              h('tr', {}, h('th', {}, trans.__('Param')), ...runs.map((r) => h('th', { style: `color:${colors.get(r.id)}` }, r.name))),
            ),
            h(
              'tbody',
              {},
              ...rows.map((row) =>
                h(
                  'tr',
                  { class: row.differs ? 'tandem-experiments-differs' : undefined, 'data-param': row.key },
                  h('th', {}, row.key),
                  ...row.values.map((v) => h('td', {}, v ?? '—')),
                ),
              ),
            ),
          ),
    );
  }

  private section(title: string, ...content: (Node | string)[]): HTMLElement {
    return h('section', { class: 'tandem-experiments-section' }, h('h3', {}, title), ...content);
  }
}
