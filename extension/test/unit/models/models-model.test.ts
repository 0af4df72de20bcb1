// The models behind the Models panel and a model's page, on a stand-in for the registry API: what
// they ask for, the state they keep, and when they emit. The API itself is tested against a real
// server in api.test.ts; the views in the browser suite.
import { describe, expect, it } from 'vitest';
import type { ModelsApi, ModelSummary, ModelVersion, Page } from '../../../src/models/api';
import { ModelPageModel, ModelsListModel, parseFilters } from '../../../src/models/models-model';

const summary = (name: string, over: Partial<ModelSummary> = {}): ModelSummary =>
  ({
    name,
    description: '',
    tags: {},
    updatedAt: '2024-01-01T00:00:00.000Z',
    latestVersion: 1,
    latestMetrics: {},
    aliases: {},
    ...over,
  }) as ModelSummary;

const page = (...items: ModelSummary[]): Page<ModelSummary> => ({ items, total: items.length });

/** A promise settled from outside, to let answers arrive in any order. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Counts `stateChanged` emissions. */
function emissions(model: { stateChanged: { connect(fn: () => void): unknown } }): { count: number } {
  const seen = { count: 0 };
  model.stateChanged.connect(() => void (seen.count += 1));
  return seen;
}

describe('ModelsListModel', () => {
  it('refresh() asks with the trimmed text, the parsed filters and the order, keeps the page and emits once', async () => {
    const queries: unknown[] = [];
    const model = new ModelsListModel({ search: async (query) => (queries.push(query), page(summary('churn'))) });
    const seen = emissions(model);
    expect(model.loaded).toBe(false);
    model.query = { q: '  churn ', filters: 'metric.auc>0.9 tag:team=risk alias:production', orderBy: 'updated' };
    await model.refresh();
    expect(queries).toEqual([{ q: 'churn', filter: ['metric.auc>0.9'], tag: ['team:risk'], alias: 'production', orderBy: 'updated' }]);
    expect(model.value).toEqual(page(summary('churn')));
    expect(model.loaded).toBe(true);
    expect(model.error).toBeUndefined();
    expect(seen.count).toBe(1);
  });

  it('emits for the first answer even when the registry is empty, and not again for the same answer', async () => {
    const model = new ModelsListModel({ search: async () => page() });
    const seen = emissions(model);
    await model.refresh();
    await model.refresh();
    expect(seen.count).toBe(1);
    expect(model.value.total).toBe(0);
  });

  it('emits when a model in the list changed', async () => {
    let latest = 1;
    const model = new ModelsListModel({ search: async () => page(summary('churn', { latestVersion: latest })) });
    const seen = emissions(model);
    await model.refresh();
    latest = 2;
    await model.refresh();
    expect(seen.count).toBe(2);
    expect(model.value.items[0]!.latestVersion).toBe(2);
  });

  it('keeps the last list when a refresh fails, shows the error, and clears it on the next success', async () => {
    let fail = false;
    const model = new ModelsListModel({
      search: async () => {
        if (fail) throw new Error('cannot reach the Tandem server');
        return page(summary('churn'));
      },
    });
    const seen = emissions(model);
    await model.refresh();
    fail = true;
    await model.refresh();
    expect(model.error).toBe('cannot reach the Tandem server');
    expect(model.value.items.map((m) => m.name)).toEqual(['churn']);
    await model.refresh(); // the same error again changes nothing
    expect(seen.count).toBe(2);
    fail = false;
    await model.refresh();
    expect(model.error).toBeUndefined();
    expect(seen.count).toBe(3);
  });

  it('when answers overtake each other (typing in the search box), only the newest request counts', async () => {
    const answers = [deferred<Page<ModelSummary>>(), deferred<Page<ModelSummary>>()];
    let call = 0;
    const model = new ModelsListModel({ search: () => answers[call++]!.promise });
    const seen = emissions(model);
    model.query = { ...model.query, q: 'c' };
    const first = model.refresh();
    model.query = { ...model.query, q: 'churn' };
    const second = model.refresh();
    answers[1]!.resolve(page(summary('churn')));
    await second;
    answers[0]!.resolve(page(summary('churn'), summary('credit')));
    await first;
    expect(model.value.items.map((m) => m.name)).toEqual(['churn']);
    expect(seen.count).toBe(1);
  });

  it('ignores answers that arrive after it was disposed', async () => {
    const answer = deferred<Page<ModelSummary>>();
    const model = new ModelsListModel({ search: () => answer.promise });
    const refreshing = model.refresh();
    model.dispose();
    answer.resolve(page(summary('churn')));
    await refreshing;
    expect(model.isDisposed).toBe(true);
    expect(model.value.items).toEqual([]);
  });
});

describe('parseFilters()', () => {
  it('splits the filter box into metric filters, tags (key=value as key:value) and one alias', () => {
    expect(parseFilters('metric.auc>0.9  auc<0.96 tag:team=risk tag:tier alias:prod')).toEqual({
      filter: ['metric.auc>0.9', 'auc<0.96'],
      tag: ['team:risk', 'tier'],
      alias: 'prod',
    });
    expect(parseFilters('')).toEqual({ filter: [], tag: [] });
  });
});

describe('ModelPageModel', () => {
  const version = (number: number): ModelVersion =>
    ({
      number,
      metrics: { auc: 0.9 },
      aliases: [],
      files: [],
      lineage: {},
      createdAt: '2024-01-01T00:00:00.000Z',
    }) as unknown as ModelVersion;

  /** A registry of one model, whose edits can be made to fail. */
  function registry(role: ModelSummary['role']) {
    const state = { model: summary('churn', { role }), versions: [version(1), version(2)], fail: false, calls: [] as string[] };
    const api = {
      get: async (name: string) => (state.calls.push(`get ${name}`), state.model),
      versions: async (name: string) => (state.calls.push(`versions ${name}`), { items: state.versions, total: state.versions.length }),
      setTag: async (_name: string, key: string, value: string) => {
        state.calls.push(`setTag ${key}=${value}`);
        if (state.fail) throw new Error('you may not edit this model');
        state.model = { ...state.model, tags: { ...state.model.tags, [key]: value } };
        return state.model;
      },
    };
    return { state, api: api as unknown as ModelsApi };
  }

  it('loads the model and its versions in one refresh, and lets owners and editors edit', async () => {
    const { api } = registry('editor');
    const model = new ModelPageModel(api, 'churn');
    const seen = emissions(model);
    expect(model.value.model).toBeUndefined();
    expect(model.canEdit).toBe(false);
    await model.refresh();
    expect(model.value.model?.name).toBe('churn');
    expect(model.value.versions.map((v) => v.number)).toEqual([1, 2]);
    expect(model.canEdit).toBe(true);
    expect(seen.count).toBe(1);
    expect(new ModelPageModel(registry('viewer').api, 'churn').canEdit).toBe(false);
  });

  it('act() makes the edit, then refreshes, and answers true', async () => {
    const { api, state } = registry('owner');
    const model = new ModelPageModel(api, 'churn');
    await model.refresh();
    state.calls.length = 0;
    expect(await model.act((a) => a.setTag('churn', 'team', 'risk'))).toBe(true);
    expect(state.calls).toEqual(['setTag team=risk', 'get churn', 'versions churn']);
    expect(model.value.model?.tags).toEqual({ team: 'risk' });
  });

  it('once loaded, asks for the model by its owner/name, so a bare name cannot come to mean another model', async () => {
    const { api, state } = registry('owner');
    state.model = { ...state.model, fullName: 'eve/churn' };
    const model = new ModelPageModel(api, 'churn');
    expect(model.ref).toBe('churn');
    await model.refresh();
    expect(model.ref).toBe('eve/churn');
    state.calls.length = 0;
    await model.act((a) => a.setTag(model.ref, 'team', 'risk'));
    expect(state.calls).toEqual(['setTag team=risk', 'get eve/churn', 'versions eve/churn']);
  });

  it('act() keeps the page when the edit fails, shows the error (emitted), and answers false; the next refresh clears it', async () => {
    const { api, state } = registry('owner');
    const model = new ModelPageModel(api, 'churn');
    await model.refresh();
    const seen = emissions(model);
    state.fail = true;
    expect(await model.act((a) => a.setTag('churn', 'team', 'risk'))).toBe(false);
    expect(model.error).toBe('you may not edit this model');
    expect(model.value.model?.name).toBe('churn');
    expect(seen.count).toBe(1);
    await model.refresh();
    expect(model.error).toBeUndefined();
    expect(seen.count).toBe(2);
  });
});
