import { Clipboard } from '@jupyterlab/apputils';
import { MimeModel, type IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import type { ModelsApi, ModelSummary, ModelVersion } from './api';
import { formatNumber, h } from '../dom';
import { metricsChart } from './metrics-chart';
import { showShareDialog } from '../sharing/share-dialog';

/** The code a cell needs to load this model; copied by the "Copy code" button. */
export function loadSnippet(name: string, alias?: string): string {
  const ref = alias ? `{ alias: '${alias}' }` : '{}';
  return `import { models } from '@tandem/kernel';\nconst model = await models.load('${name}', ${ref});\n// const scores = await model.score(table);`;
}

/** One model: card, tags, aliases, metrics chart, versions with downloads, sharing. */
export class ModelPage extends Widget {
  private model?: ModelSummary;
  private versions: ModelVersion[] = [];
  private editing = false;
  private readonly error = h('div', { class: 'tandem-models-error', role: 'alert' });

  constructor(
    private readonly api: ModelsApi,
    readonly name: string,
    private readonly onBack: () => void,
    private readonly rendermime?: IRenderMimeRegistry,
  ) {
    super();
    this.addClass('tandem-models-page');
    void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      [this.model, this.versions] = await Promise.all([this.api.get(this.name), this.api.versions(this.name).then((p) => p.items)]);
      this.error.textContent = '';
    } catch (e) {
      this.error.textContent = (e as Error).message;
    }
    this.render();
  }

  private get canEdit(): boolean {
    return this.model?.role === 'owner' || this.model?.role === 'editor';
  }

  private async act(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
      await this.refresh();
    } catch (e) {
      this.error.textContent = (e as Error).message;
    }
  }

  private render(): void {
    const model = this.model;
    const header = h(
      'div',
      { class: 'tandem-models-header' },
      h('button', { class: 'jp-mod-styled', onclick: this.onBack, title: 'back to all models' }, '←'),
      h('h2', {}, this.name),
      model?.role ? h('span', { class: 'tandem-models-role' }, model.role) : null,
    );
    if (!model) {
      this.node.replaceChildren(header, this.error);
      return;
    }
    const firstAlias = Object.keys(model.aliases)[0];
    const toolbar = h(
      'div',
      { class: 'tandem-models-toolbar' },
      h(
        'button',
        {
          class: 'jp-mod-styled',
          onclick: () => void Clipboard.copyToSystem(loadSnippet(this.name, firstAlias)),
          title: loadSnippet(this.name, firstAlias),
        },
        'Copy code',
      ),
      h(
        'button',
        {
          class: 'jp-mod-styled',
          onclick: () => void showShareDialog(this.api.grants(this.name), this.name, model.role === 'owner').then(() => this.refresh()),
        },
        'Share…',
      ),
    );
    const chart = metricsChart(this.versions);
    this.node.replaceChildren(
      header,
      toolbar,
      this.error,
      this.section('Description', this.description(model)),
      this.section('Tags', this.tags(model)),
      this.section('Aliases', this.aliases(model)),
      ...(chart ? [this.section('Metrics', chart)] : []),
      this.section(`Versions (${this.versions.length})`, this.versionsTable()),
    );
  }

  private section(title: string, content: Node): HTMLElement {
    return h('section', { class: 'tandem-models-section' }, h('h3', {}, title), content);
  }

  private description(model: ModelSummary): HTMLElement {
    if (this.editing) {
      const text = h('textarea', { class: 'tandem-models-description-editor', rows: 10, 'aria-label': 'model card (markdown)' });
      text.value = model.description;
      return h(
        'div',
        {},
        text,
        h(
          'button',
          {
            class: 'jp-mod-styled jp-mod-accept',
            onclick: () => ((this.editing = false), void this.act(() => this.api.setDescription(this.name, text.value))),
          },
          'Save',
        ),
        h('button', { class: 'jp-mod-styled', onclick: () => ((this.editing = false), this.render()) }, 'Cancel'),
      );
    }
    const shown = h('div', { class: 'tandem-models-description' });
    if (!model.description) shown.textContent = 'No description yet.';
    else if (this.rendermime) {
      const renderer = this.rendermime.createRenderer('text/markdown');
      void renderer.renderModel(new MimeModel({ data: { 'text/markdown': model.description } }));
      shown.append(renderer.node);
    } else shown.textContent = model.description;
    return h(
      'div',
      {},
      shown,
      this.canEdit ? h('button', { class: 'jp-mod-styled', onclick: () => ((this.editing = true), this.render()) }, 'Edit') : null,
    );
  }

  private tags(model: ModelSummary): HTMLElement {
    const chips = Object.entries(model.tags).map(([key, value]) =>
      h(
        'span',
        { class: 'tandem-models-chip' },
        `${key}: ${value}`,
        this.canEdit
          ? h(
              'button',
              {
                class: 'tandem-models-chip-remove',
                title: `remove tag ${key}`,
                onclick: () => void this.act(() => this.api.deleteTag(this.name, key)),
              },
              '×',
            )
          : null,
      ),
    );
    const input = h('input', { placeholder: 'key=value', 'aria-label': 'new tag' });
    const form = h(
      'form',
      {
        onsubmit: (e) => {
          e.preventDefault();
          const [key, ...rest] = input.value.split('=');
          void this.act(() => this.api.setTag(this.name, key!.trim(), rest.join('=').trim()));
        },
      },
      input,
      h('button', { type: 'submit', class: 'jp-mod-styled' }, 'Add'),
    );
    return h('div', { class: 'tandem-models-chips' }, ...chips, this.canEdit ? form : null);
  }

  private aliases(model: ModelSummary): HTMLElement {
    const chips = Object.entries(model.aliases).map(([alias, version]) =>
      h(
        'span',
        { class: 'tandem-models-chip tandem-models-alias', 'data-alias': alias },
        `${alias} → v${version}`,
        this.canEdit
          ? h(
              'button',
              {
                class: 'tandem-models-chip-remove',
                title: `remove alias ${alias}`,
                onclick: () => void this.act(() => this.api.deleteAlias(this.name, alias)),
              },
              '×',
            )
          : null,
      ),
    );
    const alias = h('input', { placeholder: 'alias, e.g. production', 'aria-label': 'alias name', class: 'tandem-models-alias-name' });
    const version = h(
      'select',
      { 'aria-label': 'version', class: 'tandem-models-alias-version' },
      ...this.versions.map((v) => h('option', { value: v.number }, `v${v.number}`)),
    );
    const form = h(
      'form',
      {
        onsubmit: (e) => (e.preventDefault(), void this.act(() => this.api.setAlias(this.name, alias.value.trim(), Number(version.value)))),
      },
      alias,
      version,
      h('button', { type: 'submit', class: 'jp-mod-styled tandem-models-alias-set' }, 'Set / move'),
    );
    return h('div', { class: 'tandem-models-chips' }, ...chips, this.canEdit && this.versions.length ? form : null);
  }

  private versionsTable(): HTMLElement {
    const metricNames = [...new Set(this.versions.flatMap((v) => Object.keys(v.metrics)))];
    const table = h(
      'table',
      { class: 'tandem-models-versions' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Version'),
          h('th', {}, 'Created'),
          ...metricNames.map((n) => h('th', {}, n)),
          h('th', {}, 'Aliases'),
          h('th', {}, 'Files'),
        ),
      ),
      h(
        'tbody',
        {},
        ...this.versions.map((v) =>
          h(
            'tr',
            {
              'data-version': v.number,
              title: [v.lineage.notebook && `notebook: ${v.lineage.notebook}`, v.lineage.jobId && `job: ${v.lineage.jobId}`]
                .filter(Boolean)
                .join('\n'),
            },
            h('td', {}, `v${v.number}`),
            h('td', { title: v.createdAt }, new Date(v.createdAt).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' })),
            ...metricNames.map((n) => h('td', {}, v.metrics[n] === undefined ? '' : formatNumber(v.metrics[n]!))),
            h('td', {}, v.aliases.join(', ')),
            h(
              'td',
              {},
              ...v.files.map((f) =>
                h(
                  'a',
                  {
                    href: this.api.downloadUrl(this.name, v.number, f.path),
                    download: f.path.split('/').pop(),
                    title: `sha256 ${f.sha256}`,
                  },
                  `${f.path} (${formatBytes(f.size)})`,
                ),
              ),
            ),
          ),
        ),
      ),
    );
    // The sidebar is narrow: the table scrolls sideways rather than hiding columns.
    return h('div', { class: 'tandem-models-versions-scroll' }, table);
  }
}

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(Math.max(n, 1)) / Math.log(1024)));
  return `${Number((n / 1024 ** i).toFixed(1))} ${units[i]}`;
}
