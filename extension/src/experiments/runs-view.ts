import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { button } from '../dashboards/controls';
import { formatNumber, h, KeyedRows } from '../dom';
import type { ExperimentsApi, ExperimentWithRole, Run } from './api';
import { COMPARE_MAX, COMPARE_MIN, durationMs, isSortable, keysOf, metricNumber, RunsModel, type Column } from './runs-model';

/** Waits this long after the last keystroke before searching with the filter. */
const TYPING_MS = 400;

export interface RunActions {
  compare(runs: Run[]): void;
  openNotebook(run: Run): void;
  register(run: Run): void;
}

/** 1h 02m, 3m 04s, 5.2s: how long a run took, at a glance. */
function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** What a row shows; a row is rebuilt only when this changed. */
interface Row {
  run: Run;
  columns: Column[];
  selected: boolean;
}

/**
 * One experiment's runs: filter box (MLflow syntax, the server's refusal under it), column picker,
 * a table sorted by clicking a header, paging, and a selection to compare. It follows the
 * experiment's event stream: a run that logs is re-read and only its row is rebuilt.
 */
export class RunsView extends Widget {
  readonly model: RunsModel;
  private readonly filter: HTMLInputElement;
  private readonly filterError = h('div', { class: 'tandem-experiments-filter-error', role: 'alert' });
  private readonly status = h('div', { class: 'tandem-experiments-status', role: 'status' });
  private readonly picker = h('div', { class: 'tandem-experiments-picker-keys' });
  private readonly head = h('tr');
  private readonly rows = new KeyedRows<Row>(
    h('tbody'),
    (row) => row.run.id,
    (row) => this.row(row),
  );
  private readonly compare: HTMLButtonElement;
  private readonly pageLabel = h('span', { class: 'tandem-experiments-page' });
  private readonly previous: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly stopEvents: () => void;
  private signatures = { head: '', picker: '' };
  private timer?: number;

  constructor(
    api: ExperimentsApi,
    readonly experiment: ExperimentWithRole,
    private readonly actions: RunActions,
    onBack: () => void,
    private readonly trans: TranslationBundle,
  ) {
    super();
    this.addClass('tandem-experiments-runs');
    this.model = new RunsModel(api, experiment.id);
    this.filter = h('input', {
      type: 'search',
      class: 'tandem-experiments-filter',
      placeholder: "metrics.acc > 0.9 and params.lr = '0.01'",
      'aria-label': trans.__('filter runs'),
      title: trans.__('MLflow search syntax: metrics.<key>, params.<key>, tags.<key>, attributes.status, run_name; joined by AND'),
    });
    this.filter.addEventListener('input', () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.model.setFilter(this.filter.value), TYPING_MS);
    });
    this.filter.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      window.clearTimeout(this.timer);
      void this.model.setFilter(this.filter.value);
    });
    this.compare = button('', () => this.actions.compare(this.model.selected), {
      kind: 'accept',
      class: 'tandem-experiments-compare',
      title: trans.__('Overlay the selected runs’ metric curves and params (%1–%2 runs)', COMPARE_MIN, COMPARE_MAX),
    });
    this.previous = button('‹', () => void this.model.previousPage(), { title: trans.__('previous page') });
    this.next = button('›', () => void this.model.nextPage(), { title: trans.__('next page') });
    this.node.append(
      h(
        'div',
        { class: 'tandem-experiments-header' },
        button('←', onBack, { title: trans.__('back to all experiments') }),
        h('h3', { title: experiment.name }, experiment.name),
      ),
      h('div', { class: 'tandem-experiments-controls' }, this.filter),
      this.filterError,
      h('details', { class: 'tandem-experiments-picker' }, h('summary', {}, trans.__('Columns')), this.picker),
      h('div', { class: 'tandem-experiments-actions' }, this.compare),
      this.status,
      h(
        'div',
        { class: 'tandem-experiments-table-wrap' },
        h('table', { class: 'tandem-experiments-table' }, h('thead', {}, this.head), this.rows.node),
      ),
      h('div', { class: 'tandem-experiments-pager' }, this.previous, this.pageLabel, this.next),
    );
    this.model.stateChanged.connect(this.render, this);
    this.stopEvents = api.events(experiment.id, (event) => void this.model.applyEvent(event));
    this.render();
    void this.model.refresh();
  }

  override dispose(): void {
    window.clearTimeout(this.timer);
    this.stopEvents();
    this.model.dispose();
    super.dispose();
  }

  private render(): void {
    const trans = this.trans;
    const { runs, nextPageToken, filterError } = this.model.value;
    const columns = this.model.columns;
    this.filterError.textContent = filterError ?? '';
    this.filter.classList.toggle('tandem-experiments-invalid', filterError !== undefined);
    const error = this.model.error;
    this.status.textContent =
      error ??
      (!this.model.loaded
        ? trans.__('Loading…')
        : runs.length === 0
          ? this.model.filter
            ? trans.__('No runs match the filter.')
            : trans.__('No runs yet. Start one from a cell with experiments.run(%1, …).', `'${this.experiment.name}'`)
          : trans._n('%1 run on this page', '%1 runs on this page', runs.length));
    this.status.classList.toggle('tandem-experiments-error', error !== undefined);
    this.renderPicker(columns);
    this.renderHead(columns);
    this.rows.update(runs.map((run) => ({ run, columns, selected: this.model.isSelected(run.id) })));
    const count = this.model.selected.length;
    this.compare.querySelector('.tandem-button-label')!.textContent = trans.__('Compare (%1)', count);
    this.compare.disabled = !this.model.canCompare;
    this.previous.disabled = this.model.pager.index === 0;
    this.next.disabled = !nextPageToken;
    this.pageLabel.textContent = trans.__('page %1', this.model.pager.index + 1);
  }

  /** Checkboxes for the param and metric keys the page's runs have; rebuilt only when those or the choice changed. */
  private renderPicker(columns: Column[]): void {
    const { params, metrics } = keysOf(this.model.value.runs);
    const signature = JSON.stringify([params, metrics, columns]);
    if (signature === this.signatures.picker) return;
    this.signatures.picker = signature;
    const box = (column: Column, label: string) =>
      h(
        'label',
        { class: 'tandem-experiments-picker-key' },
        h('input', {
          type: 'checkbox',
          checked: columns.includes(column),
          'data-column': column,
          onchange: () => this.model.toggleColumn(column),
        }),
        label,
      );
    this.picker.replaceChildren(
      params.length + metrics.length === 0 ? this.trans.__('The runs have no params or metrics yet.') : '',
      ...params.map((k) => box(`params.${k}`, `params.${k}`)),
      ...metrics.map((k) => box(`metrics.${k}`, `metrics.${k}`)),
    );
  }

  private renderHead(columns: Column[]): void {
    const { column: sorted, desc } = this.model.sort;
    const signature = JSON.stringify([columns, sorted, desc]);
    if (signature === this.signatures.head) return;
    this.signatures.head = signature;
    const trans = this.trans;
    const labels: Record<string, string> = {
      name: trans.__('Run'),
      status: trans.__('Status'),
      start: trans.__('Start'),
      duration: trans.__('Duration'),
    };
    const all: Column[] = ['name', 'status', 'start', 'duration', ...columns];
    this.head.replaceChildren(
      h('th', { class: 'tandem-experiments-select' }),
      ...all.map((column) => {
        const sortable = isSortable(column);
        const active = sorted === column;
        return h(
          'th',
          {
            'data-column': column,
            class: sortable ? 'tandem-experiments-sortable' : undefined,
            'aria-sort': active ? (desc ? 'descending' : 'ascending') : undefined,
            title: sortable ? trans.__('sort by %1', labels[column] ?? column) : undefined,
            tabindex: sortable ? 0 : undefined,
            onclick: sortable ? () => void this.model.sortBy(column) : undefined,
            onkeydown: sortable ? (e) => (e as KeyboardEvent).key === 'Enter' && void this.model.sortBy(column) : undefined,
          },
          labels[column] ?? column.replace(/^(params|metrics)\./, ''),
          active ? (desc ? ' ▾' : ' ▴') : '',
        );
      }),
      h('th', {}),
    );
  }

  private row({ run, columns, selected }: Row): HTMLElement {
    const trans = this.trans;
    const cell = (column: Column): string => {
      if (column.startsWith('params.')) return run.params[column.slice(7)] ?? '';
      if (column.startsWith('metrics.')) {
        const value = metricNumber(run.metrics[column.slice(8)]);
        return value === undefined ? '' : Number.isFinite(value) ? formatNumber(value) : String(value);
      }
      return '';
    };
    const select = h('input', {
      type: 'checkbox',
      checked: selected,
      'aria-label': trans.__('select %1', run.name),
      onchange: () => this.model.toggleSelected(run),
    });
    return h(
      'tr',
      { 'data-run': run.id, class: selected ? 'tandem-experiments-selected' : undefined },
      h('td', { class: 'tandem-experiments-select' }, select),
      h('td', { class: 'tandem-experiments-name', title: run.id }, run.name),
      h('td', {}, h('span', { class: `tandem-experiments-status-chip tandem-experiments-${run.status.toLowerCase()}` }, run.status)),
      h('td', { title: run.startTime }, new Date(run.startTime).toLocaleString()),
      // A running run's duration counts to when it was last heard from: its row changes only when the run does.
      h('td', { class: 'tandem-experiments-duration' }, formatDuration(durationMs(run, Date.parse(run.lastSeenAt)))),
      ...columns.map((column) =>
        h('td', { 'data-column': column, class: column.startsWith('metrics.') ? 'tandem-experiments-number' : undefined }, cell(column)),
      ),
      h(
        'td',
        { class: 'tandem-experiments-row-actions' },
        run.notebook
          ? button(trans.__('Notebook'), () => this.actions.openNotebook(run), {
              title: run.notebookVersion
                ? trans.__('Open the notebook version this run ran from')
                : trans.__('Open the notebook this run ran from'),
              class: 'tandem-experiments-open-notebook',
            })
          : null,
        button(trans.__('Register…'), () => this.actions.register(run), {
          title: trans.__('Register one of this run’s artifacts as a model version'),
          class: 'tandem-experiments-register',
        }),
      ),
    );
  }
}
