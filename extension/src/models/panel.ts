import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';
import type { ModelEvent, ModelsApi, ModelSummary } from './api';
import { formatNumber, h } from '../dom';
import { ModelPage } from './model-page';

/** Left-sidebar Models panel: search and filter the registry, open a model page; refreshes live. */
export class ModelsPanel extends Panel {
  private readonly list = new Widget({ node: h('div', { class: 'tandem-models-list' }) });
  private readonly results = h('ul', { class: 'tandem-models-results' });
  private readonly status = h('div', { class: 'tandem-models-status', role: 'status' });
  private readonly query = h('input', {
    type: 'search',
    placeholder: 'Search models',
    'aria-label': 'search models',
    class: 'tandem-models-search',
  });
  private readonly filter = h('input', {
    placeholder: 'metric.auc>0.9 tag:team=risk alias:production',
    title: 'Space-separated filters: metric.<name><op><number>, tag:<key>[=<value>], alias:<name>',
    'aria-label': 'filters',
    class: 'tandem-models-filter',
  });
  private readonly order = h(
    'select',
    { 'aria-label': 'order by', class: 'tandem-models-order' },
    h('option', { value: 'name' }, 'Name'),
    h('option', { value: 'updated' }, 'Recently updated'),
  );
  private page?: ModelPage;
  private readonly stopEvents: () => void;
  private timer?: number;

  constructor(
    private readonly api: ModelsApi,
    private readonly rendermime?: IRenderMimeRegistry,
  ) {
    super();
    this.id = 'tandem-models';
    this.title.caption = 'Models';
    this.addClass('tandem-models-panel');
    const search = () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.refresh(), 250);
    };
    this.query.addEventListener('input', search);
    this.filter.addEventListener('input', search);
    this.order.addEventListener('change', search);
    this.list.node.append(h('div', { class: 'tandem-models-controls' }, this.query, this.filter, this.order), this.status, this.results);
    this.addWidget(this.list);
    this.stopEvents = api.events((event) => this.onEvent(event));
    void this.refresh();
  }

  override dispose(): void {
    this.stopEvents();
    super.dispose();
  }

  async refresh(): Promise<void> {
    try {
      const page = await this.api.search({ q: this.query.value.trim(), ...parseFilters(this.filter.value), orderBy: this.order.value });
      this.results.replaceChildren(...page.items.map((m) => this.item(m)));
      this.status.textContent =
        page.total === 0
          ? 'No models yet. Register one from a cell with models.register().'
          : `${page.total} model${page.total === 1 ? '' : 's'}`;
      this.status.classList.remove('tandem-models-error');
    } catch (e) {
      this.status.textContent = (e as Error).message;
      this.status.classList.add('tandem-models-error');
    }
  }

  open(name: string): void {
    this.page?.dispose();
    this.page = new ModelPage(this.api, name, () => this.backToList(), this.rendermime);
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
    if (this.page && event.name === this.page.name) {
      if (event.type === 'model.deleted') this.backToList();
      else void this.page.refresh();
    } else if (!this.page) void this.refresh();
  }

  private item(model: ModelSummary): HTMLElement {
    const metrics = Object.entries(model.latestMetrics)
      .slice(0, 3)
      .map(([k, v]) => `${k} ${formatNumber(v)}`)
      .join(' · ');
    return h(
      'li',
      {
        class: 'tandem-models-item',
        'data-model': model.name,
        tabindex: 0,
        onclick: () => this.open(model.name),
        onkeydown: (e) => (e as KeyboardEvent).key === 'Enter' && this.open(model.name),
      },
      h(
        'div',
        { class: 'tandem-models-item-name' },
        model.name,
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

/** `metric.auc>0.9 tag:team=risk alias:production` → the search API's filter, tag and alias parameters. */
export function parseFilters(text: string): { filter: string[]; tag: string[]; alias?: string } {
  const out: { filter: string[]; tag: string[]; alias?: string } = { filter: [], tag: [] };
  for (const token of text.split(/\s+/).filter(Boolean)) {
    if (token.startsWith('tag:')) out.tag.push(token.slice(4).replace('=', ':'));
    else if (token.startsWith('alias:')) out.alias = token.slice(6);
    else out.filter.push(token);
  }
  return out;
}
