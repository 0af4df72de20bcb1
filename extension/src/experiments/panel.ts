import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, SidePanel, ToolbarButton } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';
import { button } from '../dashboards/controls';
import { h, KeyedRows } from '../dom';
import type { ExperimentsApi, ExperimentWithRole } from './api';
import { ExperimentsListModel } from './experiments-model';
import { RunsView, type RunActions } from './runs-view';

/** Waits this long after the last keystroke before searching. */
const TYPING_MS = 250;

/** What the empty list shows: how a cell logs a first run. */
const FIRST_RUN_SNIPPET = `import { experiments } from '@tandem/kernel';
await experiments.run('my-experiment', async (run) => {
  run.params({ lr: 0.01 });
  for (let step = 0; step < 100; step++) run.log({ loss: 1 / (step + 1) }, { step });
});`;

/**
 * Left-sidebar Experiments panel: search the experiments the person can see (paged), open one
 * into its runs table. The list's state is an ExperimentsListModel; a refresh updates only the
 * rows whose experiment changed.
 */
export class ExperimentsPanel extends SidePanel {
  readonly model: ExperimentsListModel;
  private readonly trans: TranslationBundle;
  private readonly list = new Widget({ node: h('div', { class: 'tandem-experiments-list' }) });
  private readonly rows = new KeyedRows<ExperimentWithRole>(
    h('ul', { class: 'tandem-experiments-results' }),
    (experiment) => experiment.id,
    (experiment) => this.item(experiment),
  );
  private readonly search: HTMLInputElement;
  private readonly status = h('div', { class: 'tandem-experiments-status', role: 'status' });
  private readonly empty = h(
    'div',
    { class: 'tandem-experiments-empty' },
    h('p', {}),
    h('pre', { class: 'tandem-experiments-snippet' }, FIRST_RUN_SNIPPET),
  );
  private readonly pageLabel = h('span', { class: 'tandem-experiments-page' });
  private readonly previous: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private runs?: RunsView;
  private timer?: number;

  constructor(
    private readonly api: ExperimentsApi,
    private readonly actions: RunActions,
    translator: ITranslator = nullTranslator,
  ) {
    super({ content: new Panel(), translator });
    const trans = (this.trans = translator.load('tandem'));
    this.id = 'tandem-experiments';
    this.title.caption = trans.__('Experiments');
    this.addClass('tandem-experiments-panel');
    this.header.addWidget(new Widget({ node: h('h2', { class: 'jp-text-truncated' }, trans.__('Experiments')) }));
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({ icon: refreshIcon, tooltip: trans.__('Refresh the experiments'), onClick: () => void this.refresh() }),
    );
    this.search = h('input', {
      type: 'search',
      class: 'tandem-experiments-search',
      placeholder: trans.__('Search experiments'),
      'aria-label': trans.__('search experiments'),
    });
    this.search.addEventListener('input', () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.model.setSearch(this.search.value), TYPING_MS);
    });
    this.empty.firstElementChild!.textContent = trans.__('No experiments yet. Log a run from a cell:');
    this.previous = button('‹', () => void this.model.previousPage(), { title: trans.__('previous page') });
    this.next = button('›', () => void this.model.nextPage(), { title: trans.__('next page') });
    this.model = new ExperimentsListModel(api);
    this.model.stateChanged.connect(this.render, this);
    this.list.node.append(
      h('div', { class: 'tandem-experiments-controls' }, this.search),
      this.status,
      this.empty,
      this.rows.node,
      h('div', { class: 'tandem-experiments-pager' }, this.previous, this.pageLabel, this.next),
    );
    this.addWidget(this.list);
    this.render();
    void this.refresh();
  }

  override dispose(): void {
    window.clearTimeout(this.timer);
    this.runs?.dispose();
    this.model.dispose();
    super.dispose();
  }

  /** Refreshes what is shown: the list, or the open experiment's runs. */
  refresh(): Promise<void> {
    return this.runs ? this.runs.model.refresh() : this.model.refresh();
  }

  /** Shows an experiment's runs in place of the list. */
  async open(id: string): Promise<void> {
    let experiment: ExperimentWithRole;
    try {
      experiment = this.model.value.items.find((e) => e.id === id) ?? (await this.api.experiment(id));
    } catch (error) {
      this.status.textContent = error instanceof Error ? error.message : String(error);
      this.status.classList.add('tandem-experiments-error');
      return;
    }
    this.runs?.dispose();
    this.runs = new RunsView(this.api, experiment, this.actions, () => this.backToList(), this.trans);
    this.list.hide();
    this.addWidget(this.runs);
  }

  private backToList(): void {
    this.runs?.dispose();
    this.runs = undefined;
    this.list.show();
    void this.refresh();
  }

  private render(): void {
    const trans = this.trans;
    const { items, total, nextPageToken } = this.model.value;
    const error = this.model.error;
    this.rows.update(items);
    const none = this.model.loaded && error === undefined && total === 0;
    this.empty.hidden = !none || this.model.search !== '';
    this.status.textContent =
      error ??
      (!this.model.loaded
        ? trans.__('Loading…')
        : none
          ? this.model.search
            ? trans.__('No experiment matches “%1”.', this.model.search)
            : ''
          : trans._n('%1 experiment', '%1 experiments', total));
    this.status.classList.toggle('tandem-experiments-error', error !== undefined);
    this.previous.disabled = this.model.pager.index === 0;
    this.next.disabled = !nextPageToken;
    this.pageLabel.textContent = trans.__('page %1', this.model.pager.index + 1);
  }

  private item(experiment: ExperimentWithRole): HTMLElement {
    const open = () => void this.open(experiment.id);
    return h(
      'li',
      {
        class: 'tandem-experiments-item',
        'data-experiment': experiment.id,
        tabindex: 0,
        title: this.trans.__('Show the runs of %1', experiment.name),
        onclick: open,
        onkeydown: (e) => (e as KeyboardEvent).key === 'Enter' && open(),
      },
      h(
        'div',
        { class: 'tandem-experiments-item-name' },
        experiment.name,
        h('span', { class: 'tandem-experiments-role' }, experiment.role),
      ),
      h(
        'div',
        { class: 'tandem-experiments-item-meta' },
        [experiment.createdByName, this.trans.__('updated %1', new Date(experiment.updatedAt).toLocaleString())].join(' · '),
      ),
    );
  }
}
