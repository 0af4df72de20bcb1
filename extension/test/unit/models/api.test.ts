// The data behind the Models panel (ModelsApi) against a real Tandem server: the query the panel's
// search box and filters turn into, and the page's edits. The panel widgets themselves need a DOM
// and are covered by the browser suite (test/browser/models.test.ts).
import { TandemApiError } from '@tandem/server/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOverHttp } from '../../../../server/test/models/support.js';
import { startTestServer, type TestServer } from '../../../../server/test/support/server.js';
import { ModelsApi } from '../../../src/models/api';
import { TandemClient } from '../../../src/requests';

describe('ModelsApi against a real Tandem server', { timeout: 60_000 }, () => {
  let server: TestServer;
  let api: ModelsApi;
  const names = (page: { items: { name: string }[] }) => page.items.map((m) => m.name);

  beforeAll(async () => {
    // PGlite: the unit project has no PostgreSQL; the browser suite runs the panel on PostgreSQL.
    server = await startTestServer({ db: 'pglite' });
    api = new ModelsApi(new TandemClient({ url: server.url, token: server.adminToken }));
    const register = async (name: string, metrics: Record<string, number>) =>
      expect((await registerOverHttp(server, name, { 'model.onnx': `weights of ${name}` }, { metadata: { metrics } })).status).toBe(201);
    await register('churn-gbt', { auc: 0.93 });
    await register('churn-gbt', { auc: 0.95 });
    await register('churn-logistic', { auc: 0.81 });
    await register('fraud.v2', { auc: 0.97 });
  }, 120_000);
  afterAll(() => server?.stop());

  it('search() leaves out what the panel has empty (blank box, no filters, a bare "alias:" being typed)', async () => {
    const page = await api.search({ q: '', filter: [], tag: [], alias: '', orderBy: 'name' });
    expect(names(page)).toEqual(['churn-gbt', 'churn-logistic', 'fraud.v2']);
    expect(page.total).toBe(3);
    expect(page.items[0]).toMatchObject({ latestVersion: 2, latestMetrics: { auc: 0.95 }, aliases: {} });
  });

  it('search() sends several metric filters and tags as repeated parameters, and the text query', async () => {
    expect(names(await api.search({ filter: ['metric.auc>0.9'] }))).toEqual(['churn-gbt', 'fraud.v2']);
    expect(names(await api.search({ filter: ['metric.auc>0.9', 'auc<0.96'] }))).toEqual(['churn-gbt']);
    expect(names(await api.search({ q: 'churn' }))).toEqual(['churn-gbt', 'churn-logistic']);
    await api.setTag('churn-gbt', 'team', 'risk');
    await api.setTag('fraud.v2', 'team', 'risk');
    await api.setTag('fraud.v2', 'tier', 'gold');
    expect(names(await api.search({ tag: ['team:risk'] }))).toEqual(['churn-gbt', 'fraud.v2']);
    expect(names(await api.search({ tag: ['team:risk', 'tier'] }))).toEqual(['fraud.v2']);
  });

  it('search() filters by alias and orders by what the panel offers', async () => {
    await api.setAlias('churn-logistic', 'production', 1);
    expect(names(await api.search({ alias: 'production' }))).toEqual(['churn-logistic']);
    await api.setDescription('churn-gbt', 'touched last');
    expect(names(await api.search({ orderBy: 'updated' }))[0]).toBe('churn-gbt');
  });

  it('setAlias() moves an alias and deleteAlias() removes it; versions() shows where each alias points', async () => {
    expect((await api.setAlias('churn-gbt', 'staging', 1)).aliases).toEqual({ staging: 1 });
    expect((await api.setAlias('churn-gbt', 'staging', 2)).aliases).toEqual({ staging: 2 });
    const versions = (await api.versions('churn-gbt')).items;
    expect(versions.map((v) => [v.number, v.aliases])).toEqual(
      expect.arrayContaining([
        [1, []],
        [2, ['staging']],
      ]),
    );
    expect((await api.deleteAlias('churn-gbt', 'staging')).aliases).toEqual({});
  });

  it('setTag(), deleteTag() and setDescription() answer the updated model, which get() then returns', async () => {
    expect((await api.setTag('churn-logistic', 'owner', 'ana')).tags).toEqual({ owner: 'ana' });
    expect((await api.deleteTag('churn-logistic', 'owner')).tags).toEqual({});
    expect((await api.setDescription('churn-logistic', '# Churn\nLogistic baseline')).description).toBe('# Churn\nLogistic baseline');
    expect(await api.get('churn-logistic')).toMatchObject({ name: 'churn-logistic', description: '# Churn\nLogistic baseline', tags: {} });
  });

  it('fileUrl() carries no credentials: the file is fetched with the token in the Authorization header', async () => {
    const url = api.fileUrl('fraud.v2', 1, 'model.onnx');
    expect(url).not.toMatch(/token|tdm_/);
    expect(url).not.toContain(server.adminToken);
    expect((await fetch(url)).status).toBe(401);
    const res = await api.client.fetch(api.filePath('fraud.v2', 1, 'model.onnx'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('weights of fraud.v2');
  });

  it("errors come back as the server's codes: an unknown model, a version that does not exist, a bad alias name", async () => {
    await expect(api.get('no-such-model')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(api.setAlias('churn-gbt', 'production', 9)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const bad = await api.setAlias('churn-gbt', 'not valid!', 1).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(TandemApiError);
    expect(bad).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400 });
  });

  it('a viewer sees the role and is refused edits', async () => {
    const vera = await server.user('vera');
    expect((await server.api('PUT', 'models/churn-gbt/grants', { body: { type: 'user', name: 'vera', role: 'viewer' } })).status).toBe(200);
    const asVera = new ModelsApi(new TandemClient({ url: server.url, token: vera.token }));
    expect(names(await asVera.search({}))).toEqual(['churn-gbt']);
    expect((await asVera.get('churn-gbt')).role).toBe('viewer');
    await expect(asVera.setTag('churn-gbt', 'team', 'mine')).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
    await expect(asVera.get('fraud.v2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('addresses same-named models by owner/name, and a bare name is the caller’s own', async () => {
    const nia = await server.user('nia');
    expect((await registerOverHttp(server, 'fraud.v2', { 'model.onnx': 'nia weights' }, { token: nia.token })).status).toBe(201);
    const listed = (await api.search({ q: 'fraud' })).items;
    expect(listed.map((m) => [m.name, m.owner, m.fullName])).toEqual([
      ['fraud.v2', 'admin', 'admin/fraud.v2'],
      ['fraud.v2', 'nia', 'nia/fraud.v2'],
    ]);
    expect(await api.get('fraud.v2')).toMatchObject({ fullName: 'admin/fraud.v2', tags: { team: 'risk', tier: 'gold' } });
    expect(await api.get('nia/fraud.v2')).toMatchObject({ fullName: 'nia/fraud.v2', tags: {}, role: 'owner' });
    expect((await api.setTag('nia/fraud.v2', 'team', 'nia')).tags).toEqual({ team: 'nia' });
    expect((await api.versions('nia/fraud.v2')).total).toBe(1);
    expect(await (await api.client.fetch(api.filePath('nia/fraud.v2', 1, 'model.onnx'))).text()).toBe('nia weights');
    expect(api.fileUrl('nia/fraud.v2', 1, 'model.onnx')).toContain('/models/nia%2Ffraud.v2/versions/1/');
    // nia sees only hers, so the bare name is unambiguous for her too.
    const asNia = new ModelsApi(new TandemClient({ url: server.url, token: nia.token }));
    expect(await asNia.get('fraud.v2')).toMatchObject({ fullName: 'nia/fraud.v2', tags: { team: 'nia' } });
    await expect(asNia.get('admin/fraud.v2')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('serves an alias: deployments() lists it with a readable load error for a file that is not ONNX; keys are made, listed and revoked', async () => {
    await api.setAlias('churn-logistic', 'serving', 1);
    const created = await api.createDeployment({ model: 'churn-logistic', alias: 'serving', maxBatchSize: 4 });
    expect(created).toMatchObject({ model: 'admin/churn-logistic', alias: 'serving', maxBatchSize: 4 });
    expect(api.endpointUrl(created)).toBe(`${server.url}/tandem/serve/admin%2Fchurn-logistic/serving/predict`);
    await expect
      .poll(async () => (await api.deployments('admin/churn-logistic'))[0]?.status.state, { timeout: 10_000 })
      .toBe('unavailable');
    const [listed] = await api.deployments('churn-logistic');
    expect(listed!.status.lastError).toMatchObject({ version: 1, message: expect.stringContaining('not a loadable ONNX model') });
    expect((await api.updateDeployment(created.id, { timeoutMs: 500 })).timeoutMs).toBe(500);
    const { key, secret } = await api.createDeploymentKey(created.id, 'app');
    expect(secret.startsWith(key.prefix)).toBe(true);
    expect((await api.deploymentKeys(created.id)).map((k) => k.name)).toEqual(['app']);
    await api.revokeDeploymentKey(created.id, key.id);
    expect(await api.deploymentKeys(created.id)).toEqual([]);
    await expect(api.createDeployment({ model: 'churn-logistic', alias: 'serving' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await api.deleteDeployment(created.id);
    expect(await api.deployments('churn-logistic')).toEqual([]);
  });
});
