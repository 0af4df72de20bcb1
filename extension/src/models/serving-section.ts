import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';
import { formatBytes, h, KeyedRows } from '../dom';
import type { Deployment, DeploymentKey, DeploymentSettings, DeploymentTrafficStats, PredictionLogSettings, TrafficSplit } from './api';
import { ServingModel, type ModelPageModel } from './models-model';
import { curlExample, exampleRow, fetchExample, lastErrorText, splitName, splitText, statusText, trafficNumber } from './serving-examples';

/** How often an open page asks for its deployments' status: loading and swaps are not announced as events. */
const POLL_MS = 3000;

type SettingName = keyof DeploymentSettings | keyof PredictionLogSettings;

/** The settings form's fields, with what the server accepts of each. */
const SETTINGS: { name: SettingName; min: number; max: number; step: number | 'any' }[] = [
  { name: 'maxBatchSize', min: 1, max: 100_000, step: 1 },
  { name: 'maxWaitMs', min: 0, max: 10_000, step: 1 },
  { name: 'queueLimit', min: 1, max: 1_000_000, step: 1 },
  { name: 'timeoutMs', min: 1, max: 600_000, step: 1 },
  { name: 'logSampleRate', min: 0, max: 1, step: 'any' },
  { name: 'logRetentionDays', min: 1, max: 3650, step: 1 },
];

const SPLITS = ['canary', 'shadow'] as const;
type SplitKind = (typeof SPLITS)[number];

/** A piece of the section, rebuilt only when what it shows (`data`) changed, so that forms keep what is typed. */
interface Block {
  key: string;
  kind: 'error' | 'serve' | 'empty' | 'status' | 'splits' | 'traffic' | 'endpoint' | 'settings' | 'logs' | 'keys';
  /** The deployment it shows, if any. */
  id?: string;
  data: unknown;
}

/**
 * The Serving section of a model page: the deployments of the model's aliases with their status,
 * traffic splits, last minute's traffic, endpoint and example calls; for editors also serving an
 * alias, setting and promoting splits, settings, keys and deleting.
 * Its state is a ServingModel, polled while the page is open.
 */
export class ServingSection implements IDisposable {
  readonly model: ServingModel;
  readonly node: HTMLElement;
  private readonly blocks = new KeyedRows<Block>(
    h('div', { class: 'tandem-serving-blocks' }),
    (block) => block.key,
    (block) => this.build(block),
  );
  private readonly error = h('div', { class: 'tandem-models-error', role: 'alert' });
  private readonly timer: number;
  private disposed = false;

  constructor(
    private readonly page: ModelPageModel,
    private readonly trans: TranslationBundle,
  ) {
    this.model = new ServingModel(page.api, page);
    this.model.stateChanged.connect(this.render, this);
    this.node = h('section', { class: 'tandem-models-section tandem-serving' }, h('h3', {}, trans.__('Serving')), this.blocks.node);
    // Only while shown: a collapsed sidebar or a closed page asks nothing.
    this.timer = window.setInterval(() => this.node.offsetParent !== null && void this.refresh(), POLL_MS);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    window.clearInterval(this.timer);
    this.model.dispose();
  }

  /** Asks for the deployments once the page knows its model. */
  async refresh(): Promise<void> {
    if (this.page.value.model) await this.model.refresh();
  }

  /** Shows the state; the page calls it too, when the model's aliases, versions or the caller's role changed. */
  render(): void {
    const { deployments, keys, traffic } = this.model.value;
    const canEdit = this.page.canEdit;
    this.error.textContent = this.model.error ?? '';
    const blocks: Block[] = [{ key: 'error', kind: 'error', data: null }];
    const served = new Set(deployments.map((d) => d.alias));
    const free = Object.keys(this.page.value.model?.aliases ?? {}).filter((alias) => !served.has(alias));
    if (canEdit) blocks.push({ key: 'serve', kind: 'serve', data: free });
    if (this.model.loaded && deployments.length === 0) blocks.push({ key: 'empty', kind: 'empty', data: null });
    const numbers = this.page.value.versions.map((v) => v.number);
    for (const d of deployments) {
      const { id } = d;
      blocks.push({
        key: `${id}/status`,
        kind: 'status',
        id,
        data: [d.alias, d.aliasVersion, d.status, canEdit, d.canary, d.shadow, d.splitStatus],
      });
      if (canEdit) blocks.push({ key: `${id}/splits`, kind: 'splits', id, data: [d.canary, d.shadow, d.aliasVersion, numbers] });
      blocks.push({ key: `${id}/traffic`, kind: 'traffic', id, data: traffic[id] ?? null });
      blocks.push({ key: `${id}/endpoint`, kind: 'endpoint', id, data: [d.endpoint, this.columnsFor(d)] });
      blocks.push({ key: `${id}/settings`, kind: 'settings', id, data: [SETTINGS.map((s) => d[s.name]), canEdit] });
      if (canEdit) blocks.push({ key: `${id}/logs`, kind: 'logs', id, data: d.logSampleRate });
      if (canEdit) blocks.push({ key: `${id}/keys`, kind: 'keys', id, data: keys[id] ?? [] });
    }
    this.blocks.update(blocks);
  }

  /** The input columns of the version the deployment serves (else of the latest version that has a signature). */
  private columnsFor(deployment: Deployment) {
    const versions = this.page.value.versions;
    const number = deployment.status.servedVersion ?? deployment.aliasVersion;
    const version = versions.find((v) => v.number === number && v.signature) ?? versions.find((v) => v.signature);
    return version?.signature?.inputs;
  }

  private build(block: Block): HTMLElement {
    const deployment = this.model.value.deployments.find((d) => d.id === block.id)!;
    switch (block.kind) {
      case 'error':
        return this.error;
      case 'empty':
        return h('p', { class: 'tandem-serving-empty' }, this.trans.__('No alias of this model is served.'));
      case 'serve':
        return this.serveForm(block.data as string[]);
      case 'status':
        return this.status(deployment);
      case 'splits':
        return this.splits(deployment);
      case 'traffic':
        return this.traffic(block.data as DeploymentTrafficStats | null);
      case 'endpoint':
        return this.endpoint(deployment);
      case 'settings':
        return this.settings(deployment);
      case 'logs':
        return this.logs(deployment);
      case 'keys':
        return this.keys(deployment, this.model.value.keys[deployment.id] ?? []);
    }
  }

  private serveForm(aliases: string[]): HTMLElement {
    const trans = this.trans;
    if (aliases.length === 0) {
      const hint = Object.keys(this.page.value.model?.aliases ?? {}).length
        ? trans.__('Every alias is served.')
        : trans.__('Set an alias (e.g. production) to serve the version it points at.');
      return h('p', { class: 'tandem-serving-hint' }, hint);
    }
    const alias = h(
      'select',
      { 'aria-label': trans.__('alias to serve'), class: 'tandem-serving-alias' },
      ...aliases.map((a) => h('option', { value: a }, a)),
    );
    return h(
      'form',
      {
        class: 'tandem-serving-serve',
        onsubmit: (e) => {
          e.preventDefault();
          void this.model.act((api) => api.createDeployment({ model: this.page.ref, alias: alias.value }));
        },
      },
      alias,
      h('button', { type: 'submit', class: 'jp-mod-styled jp-mod-accept tandem-serving-serve-button' }, trans.__('Serve')),
    );
  }

  private status(d: Deployment): HTMLElement {
    const trans = this.trans;
    return h(
      'div',
      { class: 'tandem-serving-deployment', 'data-deployment': d.id, 'data-alias': d.alias },
      h(
        'div',
        { class: 'tandem-serving-title' },
        h('b', {}, d.aliasVersion === null ? d.alias : `${d.alias} → v${d.aliasVersion}`),
        h('span', { class: 'tandem-serving-state', 'data-state': d.status.state }, statusText(d.status, trans)),
        this.page.canEdit
          ? h('button', { class: 'jp-mod-styled tandem-serving-delete', onclick: () => void this.remove(d) }, trans.__('Delete'))
          : null,
      ),
      d.status.lastError ? h('div', { class: 'tandem-serving-last-error tandem-models-error' }, lastErrorText(d.status, trans)) : null,
      ...SPLITS.map((kind) => {
        const split = d[kind];
        const status = d.splitStatus[kind];
        if (!split) return null;
        return h(
          'div',
          { class: 'tandem-serving-split-line', 'data-split': kind },
          h('span', { class: 'tandem-serving-split-kind' }, kind === 'canary' ? trans.__('Canary') : trans.__('Shadow')),
          ' ',
          splitText(split, status, trans),
          status?.lastError ? h('span', { class: 'tandem-models-error' }, ' ', lastErrorText(status, trans)) : null,
        );
      }),
    );
  }

  /** Editors' forms for the canary and the shadow: version and share, saved or removed one at a time. */
  private splits(d: Deployment): HTMLElement {
    const trans = this.trans;
    const others = this.page.value.versions.map((v) => v.number).filter((n) => n !== d.aliasVersion);
    const form = (kind: SplitKind) => {
      const current = d[kind];
      const version = h(
        'select',
        { name: 'version', 'aria-label': trans.__('%1 version', kind) },
        ...others.map((n) => h('option', { value: String(n), selected: current?.version === n }, `v${n}`)),
      );
      const percent = h('input', {
        type: 'number',
        name: 'percent',
        min: 0,
        max: 100,
        step: 'any',
        value: String(current?.percent ?? (kind === 'canary' ? 10 : 100)),
        'aria-label': trans.__('%1 percent', kind),
      });
      const save = (split: TrafficSplit | null) => void this.model.act((api) => api.updateDeployment(d.id, { [kind]: split }));
      return h(
        'form',
        {
          class: 'tandem-serving-split',
          'data-split': kind,
          onsubmit: (e) => {
            e.preventDefault();
            save({ version: Number(version.value), percent: Number(percent.value) });
          },
        },
        h(
          'span',
          { class: 'tandem-serving-split-kind' },
          kind === 'canary' ? trans.__('Canary: answers') : trans.__('Shadow: gets copies of'),
        ),
        percent,
        h('span', {}, trans.__('% of requests with')),
        version,
        h('button', { type: 'submit', class: 'jp-mod-styled', disabled: others.length === 0 }, trans.__('Save')),
        current
          ? h(
              'button',
              { type: 'button', class: 'jp-mod-styled tandem-serving-split-remove', onclick: () => save(null) },
              trans.__('Remove'),
            )
          : null,
        kind === 'canary' && current
          ? h(
              'button',
              { type: 'button', class: 'jp-mod-styled jp-mod-accept tandem-serving-promote', onclick: () => void this.promote(d, current) },
              trans.__('Promote'),
            )
          : null,
      );
    };
    return h(
      'div',
      { class: 'tandem-serving-splits' },
      others.length === 0 ? h('div', { class: 'tandem-serving-hint' }, trans.__('Register another version to split traffic.')) : null,
      ...SPLITS.map(form),
    );
  }

  /** The last minute's requests per split and version, as the server process saw them. */
  private traffic(stats: DeploymentTrafficStats | null): HTMLElement {
    const trans = this.trans;
    const rows = (stats?.splits ?? []).flatMap(({ split, versions }) => versions.map((v) => ({ split, ...v })));
    if (rows.length === 0)
      return h('div', { class: 'tandem-serving-traffic tandem-serving-hint' }, trans.__('No requests in the last minute.'));
    const head = [trans.__('Split'), trans.__('Version'), trans.__('req/s'), trans.__('Errors'), 'p50', 'p95'];
    return h(
      'table',
      { class: 'tandem-serving-traffic' },
      h('caption', {}, trans.__('Last %1 s, latency in ms', stats!.windowSeconds)),
      h('thead', {}, h('tr', {}, ...head.map((label) => h('th', {}, label)))),
      h(
        'tbody',
        {},
        ...rows.map((r) =>
          h(
            'tr',
            { 'data-split': r.split },
            h('td', {}, splitName(r.split, trans)),
            h('td', {}, r.version === null ? '–' : `v${r.version}`),
            h('td', {}, trafficNumber(r.requestsPerSecond)),
            h('td', {}, String(r.errors)),
            h('td', {}, trafficNumber(r.p50Ms)),
            h('td', {}, trafficNumber(r.p95Ms)),
          ),
        ),
      ),
    );
  }

  /** Moves the alias to the canary's version, after asking. */
  private async promote(d: Deployment, canary: TrafficSplit): Promise<void> {
    const trans = this.trans;
    const answer = await showDialog({
      title: trans.__('Promote v%1 to %2?', canary.version, d.alias),
      body: trans.__('The alias %1 moves to version %2, which then answers every request; the canary is removed.', d.alias, canary.version),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Promote') })],
    });
    if (answer.button.accept) await this.model.act((api) => api.promoteCanary(d.id));
  }

  private endpoint(d: Deployment): HTMLElement {
    const trans = this.trans;
    const url = this.page.api.endpointUrl(d);
    const row = exampleRow(this.columnsFor(d));
    const copyable = (cls: string, label: string, text: string) =>
      h(
        'div',
        { class: 'tandem-serving-copyable' },
        h('pre', { class: cls }, text),
        h(
          'button',
          { class: 'jp-mod-styled', title: trans.__('Copy %1', label), onclick: () => Clipboard.copyToSystem(text) },
          trans.__('Copy'),
        ),
      );
    return h(
      'div',
      { class: 'tandem-serving-endpoint-block' },
      h('div', {}, trans.__('Endpoint'), ' ', h('code', { class: 'tandem-serving-endpoint' }, `POST ${url}`)),
      copyable('tandem-serving-curl', 'curl', curlExample(url, row)),
      copyable('tandem-serving-fetch', 'TypeScript', fetchExample(url, row)),
      h('div', { class: 'tandem-serving-hint' }, trans.__('Send a deployment key (below) or a viewer’s API token as TANDEM_KEY.')),
    );
  }

  private settings(d: Deployment): HTMLElement {
    const trans = this.trans;
    const labels: Record<SettingName, string> = {
      maxBatchSize: trans.__('Max batch size (rows)'),
      maxWaitMs: trans.__('Max wait (ms)'),
      queueLimit: trans.__('Queue limit (requests)'),
      timeoutMs: trans.__('Timeout (ms)'),
      logSampleRate: trans.__('Logged share of requests (0–1)'),
      logRetentionDays: trans.__('Keep logs (days)'),
    };
    const canEdit = this.page.canEdit;
    const inputs = SETTINGS.map(({ name, min, max, step }) =>
      h('input', { type: 'number', min, max, step, value: String(d[name]), name, disabled: !canEdit }),
    );
    return h(
      'form',
      {
        class: 'tandem-serving-settings',
        onsubmit: (e) => {
          e.preventDefault();
          const change = Object.fromEntries(SETTINGS.map((s, i) => [s.name, Number(inputs[i]!.value)]));
          void this.model.act((api) => api.updateDeployment(d.id, change));
        },
      },
      ...SETTINGS.map((s, i) => h('label', {}, labels[s.name], inputs[i]!)),
      canEdit ? h('button', { type: 'submit', class: 'jp-mod-styled' }, trans.__('Save settings')) : null,
    );
  }

  /** Editors' view of the prediction log: whether it is on, and its files on demand (they hold callers' inputs). */
  private logs(d: Deployment): HTMLElement {
    const trans = this.trans;
    const files = h('ul', { class: 'tandem-serving-log-files' });
    const show = async () => {
      files.replaceChildren(h('li', {}, trans.__('Loading…')));
      try {
        const page = await this.page.api.deploymentLogs(d.id);
        files.replaceChildren(
          ...(page.items.length === 0 ? [h('li', {}, trans.__('No files yet: rows are written every few seconds.'))] : []),
          ...page.items.map((file) =>
            h(
              'li',
              { 'data-key': file.key },
              `${new Date(file.hour).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' })} · ${formatBytes(file.size)} `,
              h(
                'button',
                { class: 'jp-mod-styled', onclick: () => void this.page.api.downloadDeploymentLog(d.id, file.key) },
                trans.__('Download'),
              ),
            ),
          ),
        );
      } catch (error) {
        files.replaceChildren(h('li', { class: 'tandem-models-error' }, (error as Error).message));
      }
    };
    return h(
      'div',
      { class: 'tandem-serving-logs' },
      h(
        'div',
        {},
        d.logSampleRate > 0
          ? trans.__('Prediction log: %1% of requests, as Parquet in the artifact store.', trafficNumber(d.logSampleRate * 100))
          : trans.__('Prediction log: off (set a logged share above).'),
        ' ',
        h('button', { class: 'jp-mod-styled tandem-serving-show-logs', onclick: () => void show() }, trans.__('Show files')),
      ),
      files,
    );
  }

  private keys(d: Deployment, keys: DeploymentKey[]): HTMLElement {
    const trans = this.trans;
    const when = (at: string | null) =>
      at ? new Date(at).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' }) : trans.__('never');
    const name = h('input', {
      placeholder: trans.__('key name, e.g. web-app'),
      'aria-label': trans.__('key name'),
      class: 'tandem-serving-key-name',
    });
    return h(
      'div',
      { class: 'tandem-serving-keys' },
      h('div', {}, trans.__('API keys')),
      h(
        'ul',
        {},
        ...keys.map((k) =>
          h(
            'li',
            { 'data-key': k.id },
            h('b', {}, k.name),
            ' ',
            h('code', {}, `${k.prefix}…`),
            ` ${trans.__('created %1, last used %2', when(k.createdAt), when(k.lastUsedAt))} `,
            h(
              'button',
              {
                class: 'jp-mod-styled tandem-serving-revoke',
                onclick: () => void this.model.act((api) => api.revokeDeploymentKey(d.id, k.id)),
              },
              trans.__('Revoke'),
            ),
          ),
        ),
      ),
      h(
        'form',
        {
          onsubmit: (e) => {
            e.preventDefault();
            void this.createKey(d, name.value.trim());
          },
        },
        name,
        h('button', { type: 'submit', class: 'jp-mod-styled tandem-serving-create-key' }, trans.__('Create key')),
      ),
    );
  }

  /** Creates a key and shows its secret once, in a dialog with a copy button. */
  private async createKey(d: Deployment, name: string): Promise<void> {
    const trans = this.trans;
    let secret = '';
    if (!(await this.model.act(async (api) => (secret = (await api.createDeploymentKey(d.id, name)).secret)))) return;
    const body = new Widget({
      node: h(
        'div',
        { class: 'tandem-serving-secret-dialog' },
        h('p', {}, trans.__('Copy the key now: it is stored hashed and will not be shown again.')),
        h('code', { class: 'tandem-serving-secret' }, secret),
        h('button', { class: 'jp-mod-styled', onclick: () => Clipboard.copyToSystem(secret) }, trans.__('Copy')),
      ),
    });
    await showDialog({ title: trans.__('Key for %1', d.alias), body, buttons: [Dialog.okButton({ label: trans.__('Done') })] });
  }

  private async remove(d: Deployment): Promise<void> {
    const trans = this.trans;
    const answer = await showDialog({
      title: trans.__('Stop serving %1?', d.alias),
      body: trans.__('The endpoint stops answering and its keys are deleted.'),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Delete') })],
    });
    if (answer.button.accept) await this.model.act((api) => api.deleteDeployment(d.id));
  }
}
