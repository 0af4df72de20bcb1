// The state behind the Models panel, without the DOM: the list the search controls ask for, one
// model's page and its deployments. The views (panel.ts, model-page.ts, serving-section.ts) render
// them and update on `stateChanged`.
import { RemoteState } from '../remote-state';
import type { Deployment, DeploymentKey, DeploymentTrafficStats, ModelsApi, ModelSummary, ModelVersion, Page } from './api';

/** What the panel's controls say: the search box, the filter box and the order. */
export interface ModelsQuery {
  q: string;
  filters: string;
  orderBy: string;
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

/** The registry's models matching `query`; refresh() after changing it. */
export class ModelsListModel extends RemoteState<Page<ModelSummary>> {
  query: ModelsQuery = { q: '', filters: '', orderBy: 'name' };

  constructor(private readonly api: Pick<ModelsApi, 'search'>) {
    super({ items: [], total: 0 });
  }

  protected fetch(): Promise<Page<ModelSummary>> {
    return this.api.search({ q: this.query.q.trim(), ...parseFilters(this.query.filters), orderBy: this.query.orderBy });
  }
}

export interface ModelPageState {
  /** Undefined until the model has loaded. */
  model?: ModelSummary;
  versions: ModelVersion[];
}

/** Loaded state that the page edits through the registry API: each edit is followed by a refresh. */
abstract class EditableState<T> extends RemoteState<T> {
  constructor(
    readonly api: ModelsApi,
    initial: T,
  ) {
    super(initial);
  }

  /** Runs an edit, then refreshes; a failure shows in `error` (and is emitted) instead of being thrown. Answers whether it succeeded. */
  async act(action: (api: ModelsApi) => Promise<unknown>): Promise<boolean> {
    try {
      await action(this.api);
    } catch (e) {
      this.fail(e);
      return false;
    }
    await this.refresh();
    return true;
  }
}

/** One model and its versions, and the edits its page makes (each followed by a refresh). */
export class ModelPageModel extends EditableState<ModelPageState> {
  constructor(
    api: ModelsApi,
    /** `owner/name`, or a bare name as the server resolves it for the caller. */
    readonly name: string,
  ) {
    super(api, { versions: [] });
  }

  /** How requests name the model: its `owner/name` once loaded, so a bare name cannot come to mean another model. */
  get ref(): string {
    return this.value.model?.fullName ?? this.name;
  }

  get canEdit(): boolean {
    const role = this.value.model?.role;
    return role === 'owner' || role === 'editor';
  }

  protected async fetch(): Promise<ModelPageState> {
    const [model, versions] = await Promise.all([this.api.get(this.ref), this.api.versions(this.ref)]);
    return { model, versions: versions.items };
  }
}

export interface ServingState {
  deployments: Deployment[];
  /** Keys by deployment id; only editors may list them, so empty for viewers. */
  keys: Record<string, DeploymentKey[]>;
  /** The last minute's requests by deployment id. */
  traffic: Record<string, DeploymentTrafficStats>;
}

/**
 * The deployments of one model page's model, their keys and live traffic. It asks the page for the model's
 * name and the caller's role at each refresh, since both are known only once the page has loaded.
 */
export class ServingModel extends EditableState<ServingState> {
  constructor(
    api: ModelsApi,
    private readonly page: Pick<ModelPageModel, 'ref' | 'canEdit'>,
  ) {
    super(api, { deployments: [], keys: {}, traffic: {} });
  }

  protected async fetch(): Promise<ServingState> {
    const deployments = await this.api.deployments(this.page.ref);
    const byId = <T>(values: T[]) => Object.fromEntries(values.map((v, i) => [deployments[i]!.id, v]));
    const [keys, traffic] = await Promise.all([
      this.page.canEdit ? Promise.all(deployments.map((d) => this.api.deploymentKeys(d.id))) : [],
      Promise.all(deployments.map((d) => this.api.deploymentTraffic(d.id))),
    ]);
    return { deployments, keys: byId(keys), traffic: byId(traffic) };
  }
}
