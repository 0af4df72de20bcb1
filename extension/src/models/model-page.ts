import { Clipboard, showErrorMessage } from '@jupyterlab/apputils';
import { MimeModel, type IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { formatBytes, formatNumber, h, KeyedRows } from '../dom';
import { showShareDialog } from '../sharing/share-dialog';
import type { ModelsApi, ModelSummary } from './api';
import { metricsChart } from './metrics-chart';
import { ModelPageModel } from './models-model';
import { ServingSection } from './serving-section';

/** The code a cell needs to load this model; copied by the "Copy code" button. */
export function loadSnippet(name: string, alias?: string): string {
  const ref = alias ? `{ alias: '${alias}' }` : '{}';
  return `import { models } from '@tandem/kernel';\nconst model = await models.load('${name}', ${ref});\n// const scores = await model.score(table);`;
}

/** A part of the page, rebuilt only when what it shows (`data`) changed. */
interface Part {
  key: 'header' | 'toolbar' | 'error' | 'description' | 'tags' | 'aliases' | 'serving' | 'metrics' | 'versions';
  data: unknown;
}

/**
 * One model: card, tags, aliases, serving, metrics chart, versions with downloads, sharing. The state is a
 * ModelPageModel; a refresh rebuilds only the parts whose data changed, and the forms' inputs are
 * kept, so a live refresh (someone registered a version) does not wipe what the user is typing.
 */
export class ModelPage extends Widget {
  readonly model: ModelPageModel;
  private readonly trans: TranslationBundle;
  private editing = false;
  private readonly parts = new KeyedRows<Part>(
    this.node,
    (part) => part.key,
    (part) => this.build(part),
  );
  private readonly error = h('div', { class: 'tandem-models-error', role: 'alert' });
  private readonly newTag: HTMLInputElement;
  private readonly aliasName: HTMLInputElement;
  private readonly aliasVersion: HTMLSelectElement;
  private readonly serving: ServingSection;

  constructor(
    api: ModelsApi,
    /** `owner/name` or a bare name. */
    name: string,
    private readonly onBack: () => void,
    private readonly rendermime?: IRenderMimeRegistry,
    translator: ITranslator = nullTranslator,
  ) {
    super();
    const trans = (this.trans = translator.load('tandem'));
    this.addClass('tandem-models-page');
    this.newTag = h('input', { placeholder: 'key=value', 'aria-label': trans.__('new tag') });
    this.aliasName = h('input', {
      placeholder: trans.__('alias, e.g. production'),
      'aria-label': trans.__('alias name'),
      class: 'tandem-models-alias-name',
    });
    this.aliasVersion = h('select', { 'aria-label': trans.__('version'), class: 'tandem-models-alias-version' });
    this.model = new ModelPageModel(api, name);
    this.serving = new ServingSection(this.model, trans);
    this.model.stateChanged.connect(this.render, this);
    this.render();
    void this.refresh();
  }

  override dispose(): void {
    this.serving.dispose();
    this.model.dispose();
    super.dispose();
  }

  /** The model first: the serving section needs its owner/name and the caller's role. */
  async refresh(): Promise<void> {
    await this.model.refresh();
    await this.serving.refresh();
  }

  private render(): void {
    const { model, versions } = this.model.value;
    const canEdit = this.model.canEdit;
    this.error.textContent = this.model.error ?? '';
    const parts: Part[] = [{ key: 'header', data: [model?.role, this.model.ref] }];
    if (model) {
      parts.push({ key: 'toolbar', data: [model.role, Object.keys(model.aliases)[0]] }, { key: 'error', data: null });
      parts.push({ key: 'description', data: [model.description, canEdit, this.editing] });
      parts.push({ key: 'tags', data: [model.tags, canEdit] });
      parts.push({ key: 'aliases', data: [model.aliases, canEdit, versions.map((v) => v.number)] });
      // The section keeps its own node and updates itself; it only needs to see the page's changes.
      parts.push({ key: 'serving', data: null });
      this.serving.render();
      if (versions.some((v) => Object.keys(v.metrics).length > 0)) parts.push({ key: 'metrics', data: versions });
      parts.push({ key: 'versions', data: versions });
    } else parts.push({ key: 'error', data: null });
    this.parts.update(parts);
  }

  private build(part: Part): HTMLElement {
    const model = this.model.value.model!;
    switch (part.key) {
      case 'header':
        return this.header();
      case 'toolbar':
        return this.toolbar(model);
      case 'error':
        return this.error;
      case 'description':
        return this.section(this.trans.__('Description'), this.description(model));
      case 'tags':
        return this.section(this.trans.__('Tags'), this.tags(model));
      case 'aliases':
        return this.section(this.trans.__('Aliases'), this.aliases(model));
      case 'serving':
        return this.serving.node;
      case 'metrics':
        return this.section(this.trans.__('Metrics'), metricsChart(this.model.value.versions, this.trans) ?? '');
      case 'versions':
        return this.section(this.trans.__('Versions (%1)', this.model.value.versions.length), this.versionsTable());
    }
  }

  private header(): HTMLElement {
    const role = this.model.value.model?.role;
    return h(
      'div',
      { class: 'tandem-models-header' },
      h('button', { class: 'jp-mod-styled', onclick: this.onBack, title: this.trans.__('back to all models') }, '←'),
      h('h2', {}, this.model.ref),
      role ? h('span', { class: 'tandem-models-role' }, role) : null,
    );
  }

  private toolbar(model: ModelSummary): HTMLElement {
    const snippet = loadSnippet(this.model.ref, Object.keys(model.aliases)[0]);
    return h(
      'div',
      { class: 'tandem-models-toolbar' },
      h(
        'button',
        { class: 'jp-mod-styled', onclick: () => void Clipboard.copyToSystem(snippet), title: snippet },
        this.trans.__('Copy code'),
      ),
      h(
        'button',
        {
          class: 'jp-mod-styled',
          onclick: () =>
            void showShareDialog(this.model.api.grants(this.model.ref), this.model.ref, model.role === 'owner', this.trans).then(() =>
              this.refresh(),
            ),
        },
        this.trans.__('Share…'),
      ),
    );
  }

  private section(title: string, content: Node | string): HTMLElement {
    return h('section', { class: 'tandem-models-section' }, h('h3', {}, title), content);
  }

  private setEditing(editing: boolean): void {
    this.editing = editing;
    this.render();
  }

  private description(model: ModelSummary): HTMLElement {
    const trans = this.trans;
    if (this.editing) {
      const text = h('textarea', { class: 'tandem-models-description-editor', rows: 10, 'aria-label': trans.__('model card (markdown)') });
      text.value = model.description;
      // The editor stays (with the error) when saving failed.
      const save = async () => {
        if (await this.model.act((api) => api.setDescription(this.model.ref, text.value))) this.setEditing(false);
      };
      return h(
        'div',
        {},
        text,
        h('button', { class: 'jp-mod-styled jp-mod-accept', onclick: () => void save() }, trans.__('Save')),
        h('button', { class: 'jp-mod-styled', onclick: () => this.setEditing(false) }, trans.__('Cancel')),
      );
    }
    const shown = h('div', { class: 'tandem-models-description' });
    if (!model.description) shown.textContent = trans.__('No description yet.');
    else if (this.rendermime) {
      const renderer = this.rendermime.createRenderer('text/markdown');
      void renderer.renderModel(new MimeModel({ data: { 'text/markdown': model.description } }));
      shown.append(renderer.node);
    } else shown.textContent = model.description;
    return h(
      'div',
      {},
      shown,
      this.model.canEdit ? h('button', { class: 'jp-mod-styled', onclick: () => this.setEditing(true) }, trans.__('Edit')) : null,
    );
  }

  /** Chips of `entries`, each with a remove button for editors. */
  private chips(entries: [string, string, string][], removeTitle: (key: string) => string, remove: (key: string) => Promise<unknown>) {
    return entries.map(([key, text, dataAlias]) =>
      h(
        'span',
        { class: dataAlias ? 'tandem-models-chip tandem-models-alias' : 'tandem-models-chip', 'data-alias': dataAlias || undefined },
        text,
        this.model.canEdit
          ? h(
              'button',
              { class: 'tandem-models-chip-remove', title: removeTitle(key), onclick: () => void this.model.act(() => remove(key)) },
              '×',
            )
          : null,
      ),
    );
  }

  private tags(model: ModelSummary): HTMLElement {
    const api = this.model.api;
    const chips = this.chips(
      Object.entries(model.tags).map(([key, value]) => [key, `${key}: ${value}`, '']),
      (key) => this.trans.__('remove tag %1', key),
      (key) => api.deleteTag(this.model.ref, key),
    );
    const form = h(
      'form',
      {
        onsubmit: (e) => {
          e.preventDefault();
          const [key, ...rest] = this.newTag.value.split('=');
          void this.submit(this.newTag, () => api.setTag(this.model.ref, key!.trim(), rest.join('=').trim()));
        },
      },
      this.newTag,
      h('button', { type: 'submit', class: 'jp-mod-styled' }, this.trans.__('Add')),
    );
    return h('div', { class: 'tandem-models-chips' }, ...chips, this.model.canEdit ? form : null);
  }

  private aliases(model: ModelSummary): HTMLElement {
    const api = this.model.api;
    const versions = this.model.value.versions;
    const chips = this.chips(
      Object.entries(model.aliases).map(([alias, version]) => [alias, `${alias} → v${version}`, alias]),
      (alias) => this.trans.__('remove alias %1', alias),
      (alias) => api.deleteAlias(this.model.ref, alias),
    );
    // The choice survives new versions arriving.
    const chosen = this.aliasVersion.value;
    this.aliasVersion.replaceChildren(...versions.map((v) => h('option', { value: v.number }, `v${v.number}`)));
    if (versions.some((v) => String(v.number) === chosen)) this.aliasVersion.value = chosen;
    const form = h(
      'form',
      {
        onsubmit: (e) => {
          e.preventDefault();
          void this.submit(this.aliasName, () =>
            api.setAlias(this.model.ref, this.aliasName.value.trim(), Number(this.aliasVersion.value)),
          );
        },
      },
      this.aliasName,
      this.aliasVersion,
      h('button', { type: 'submit', class: 'jp-mod-styled tandem-models-alias-set' }, this.trans.__('Set / move')),
    );
    return h('div', { class: 'tandem-models-chips' }, ...chips, this.model.canEdit && versions.length ? form : null);
  }

  /** Runs a form's edit; the input is emptied once it succeeded, kept (with the error shown) when it failed. */
  private async submit(input: HTMLInputElement, action: () => Promise<unknown>): Promise<void> {
    if (await this.model.act(action)) input.value = '';
  }

  private versionsTable(): HTMLElement {
    const trans = this.trans;
    const versions = this.model.value.versions;
    const metricNames = [...new Set(versions.flatMap((v) => Object.keys(v.metrics)))];
    const table = h(
      'table',
      { class: 'tandem-models-versions' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, trans.__('Version')),
          h('th', {}, trans.__('Created')),
          ...metricNames.map((n) => h('th', {}, n)),
          h('th', {}, trans.__('Aliases')),
          h('th', {}, trans.__('Files')),
        ),
      ),
      h(
        'tbody',
        {},
        ...versions.map((v) =>
          h(
            'tr',
            {
              'data-version': v.number,
              title: [
                v.lineage.notebook && trans.__('notebook: %1', v.lineage.notebook),
                v.lineage.jobId && trans.__('job: %1', v.lineage.jobId),
                v.runId && trans.__('run: %1', v.runId),
              ]
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
                    // No credentials in the link: a click fetches the file with the header instead.
                    href: this.model.api.fileUrl(this.model.ref, v.number, f.path),
                    download: f.path.split('/').pop(),
                    title: `sha256 ${f.sha256}`,
                    onclick: (event: Event) => {
                      event.preventDefault();
                      this.model.api
                        .download(this.model.ref, v.number, f.path)
                        .catch(
                          (error: unknown) =>
                            void showErrorMessage(trans.__('Cannot download %1', f.path), (error as Error).message ?? String(error)),
                        );
                    },
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
