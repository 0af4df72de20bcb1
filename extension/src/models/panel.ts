import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';
import { formatNumber, h, KeyedRows } from '../dom';
import type { ModelEvent, ModelsApi, ModelSummary } from './api';
import { ModelPage } from './model-page';
import { ModelsListModel } from './models-model';

/** A row of the list: the model, and whether another listed model has its name (then it shows as `owner/name`). */
interface Row {
  model: ModelSummary;
  qualified: boolean;
}

/**
 * Left-sidebar Models panel: search and filter the registry, open a model page; refreshes live.
 * The list's state is a ModelsListModel; a refresh updates only the rows whose model changed.
 * Rows and pages go by `owner/name`, so same-named models of different owners open the right one.
 */
export class ModelsPanel extends Panel {
  readonly model: ModelsListModel;
  private readonly trans: TranslationBundle;
  private readonly list = new Widget({ node: h('div', { class: 'tandem-models-list' }) });
  private readonly rows = new KeyedRows<Row>(
    h('ul', { class: 'tandem-models-results' }),
    (row) => row.model.fullName,
    (row) => this.item(row),
  );
  private readonly status = h('div', { class: 'tandem-models-status', role: 'status' });
  private readonly query: HTMLInputElement;
  private readonly filter: HTMLInputElement;
  private readonly order: HTMLSelectElement;
  private page?: ModelPage;
  private readonly stopEvents: () => void;
  private timer?: number;

  constructor(
    private readonly api: ModelsApi,
    private readonly rendermime?: IRenderMimeRegistry,
    private readonly translator: ITranslator = nullTranslator,
  ) {
    super();
    const trans = (this.trans = translator.load('tandem'));
    this.id = 'tandem-models';
    this.title.caption = trans.__('Models');
    this.addClass('tandem-models-panel');
    this.query = h('input', {
      type: 'search',
      placeholder: trans.__('Search models'),
      'aria-label': trans.__('search models'),
      class: 'tandem-models-search',
    });
    this.filter = h('input', {
      placeholder: 'metric.auc>0.9 tag:team=risk alias:production',
      title: trans.__('Space-separated filters: metric.<name><op><number>, tag:<key>[=<value>], alias:<name>'),
      'aria-label': trans.__('filters'),
      class: 'tandem-models-filter',
    });
    this.order = h(
      'select',
      { 'aria-label': trans.__('order by'), class: 'tandem-models-order' },
      h('option', { value: 'name' }, trans.__('Name')),
      h('option', { value: 'updated' }, trans.__('Recently updated')),
    );
    this.model = new ModelsListModel(api);
    this.model.stateChanged.connect(this.render, this);
    const search = () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.refresh(), 250);
    };
    this.query.addEventListener('input', search);
    this.filter.addEventListener('input', search);
    this.order.addEventListener('change', search);
    this.list.node.append(h('div', { class: 'tandem-models-controls' }, this.query, this.filter, this.order), this.status, this.rows.node);
    this.addWidget(this.list);
    this.stopEvents = api.events((event) => this.onEvent(event));
    void this.refresh();
  }

  override dispose(): void {
    window.clearTimeout(this.timer);
    this.stopEvents();
    this.model.dispose();
    super.dispose();
  }

  /** Searches with what the controls say now. */
  refresh(): Promise<void> {
    this.model.query = { q: this.query.value, filters: this.filter.value, orderBy: this.order.value };
    return this.model.refresh();
  }

  /** Opens a model's page; `name` is `owner/name` or a bare name, resolved as the server does. */
  open(name: string): void {
    this.page?.dispose();
    this.page = new ModelPage(this.api, name, () => this.backToList(), this.rendermime, this.translator);
    this.list.hide();
    this.addWidget(this.page);
  }

  private backToList(): void {
    this.page?.dispose();
    this.page = undefined;
    this.list.show();
    void this.refresh();
  }

  private onEvent(event: ModelEvent): void {
    if (this.page && event.fullName === this.page.model.ref) {
      if (event.type === 'model.deleted') this.backToList();
      else void this.page.refresh();
    } else if (!this.page) void this.refresh();
  }

  private render(): void {
    const { items, total } = this.model.value;
    const error = this.model.error;
    const count = new Map<string, number>();
    for (const m of items) count.set(m.name, (count.get(m.name) ?? 0) + 1);
    this.rows.update(items.map((model) => ({ model, qualified: count.get(model.name)! > 1 })));
    this.status.textContent =
      error ??
      (total === 0
        ? this.trans.__('No models yet. Register one from a cell with models.register().')
        : this.trans._n('%1 model', '%1 models', total));
    this.status.classList.toggle('tandem-models-error', error !== undefined);
  }

  private item({ model, qualified }: Row): HTMLElement {
    const metrics = Object.entries(model.latestMetrics)
      .slice(0, 3)
      .map(([k, v]) => `${k} ${formatNumber(v)}`)
      .join(' · ');
    return h(
      'li',
      {
        class: 'tandem-models-item',
        'data-model': model.name,
        'data-full-name': model.fullName,
        title: model.fullName,
        tabindex: 0,
        onclick: () => this.open(model.fullName),
        onkeydown: (e) => (e as KeyboardEvent).key === 'Enter' && this.open(model.fullName),
      },
      h(
        'div',
        { class: 'tandem-models-item-name' },
        qualified ? model.fullName : model.name,
        model.latestVersion ? h('span', { class: 'tandem-models-version' }, `v${model.latestVersion}`) : null,
      ),
      h(
        'div',
        { class: 'tandem-models-item-meta' },
        ...Object.entries(model.aliases).map(([alias, v]) =>
          h('span', { class: 'tandem-models-chip tandem-models-alias' }, `${alias} → v${v}`),
        ),
        metrics,
      ),
    );
  }
}
