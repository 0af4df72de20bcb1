import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { registerOverHttp } from './support.js';

type User = { id: string; token: string };

describe('removing model aliases and tags', () => {
  let server: TestServer;
  let owner: User;
  let editor: User;
  let viewer: User;
  let outsider: User;
  let modelId: string;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    [owner, editor, viewer, outsider] = await Promise.all(['owner', 'editor', 'viewer', 'outsider'].map((n) => server.user(n)));
    for (const content of ['weights-v1', 'weights-v2']) {
      const registered = await registerOverHttp(server, 'churn', { 'model.onnx': content }, { token: owner.token });
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    }
    for (const [name, role] of [
      ['editor', 'editor'],
      ['viewer', 'viewer'],
    ]) {
      await server.api('PUT', 'models/churn/grants', { token: owner.token, body: { type: 'user', name, role } });
    }
    modelId = (await server.api('GET', 'models/churn', { token: owner.token })).body.id;
  });
  afterAll(() => server.stop());

  const model = async (token = owner.token) => (await server.api('GET', 'models/churn', { token })).body;
  const audits = (action: string) =>
    server.ctx.db.query<{ actor_id: string; details: any }>(
      `SELECT actor_id, details FROM audit_log WHERE resource_type = 'model' AND resource_id = $1 AND action = $2 ORDER BY id`,
      [modelId, action],
    );

  describe('aliases', () => {
    it('an editor removes an alias: it is gone from the model and no longer resolves', async () => {
      await server.api('PUT', 'models/churn/aliases/production', { token: owner.token, body: { version: 2 } });
      await server.api('PUT', 'models/churn/aliases/staging', { token: owner.token, body: { version: 1 } });
      expect((await model()).aliases).toEqual({ production: 2, staging: 1 });

      const res = await server.api('DELETE', 'models/churn/aliases/staging', { token: editor.token });
      expect(res.status).toBe(200);
      expect(res.body.aliases).toEqual({ production: 2 });
      expect((await model(viewer.token)).aliases).toEqual({ production: 2 });
      expect(await server.api('GET', 'models/churn/aliases/staging', { token: viewer.token })).toMatchObject({
        status: 404,
        body: { error: { code: 'NOT_FOUND' } },
      });
      const byAlias = await server.api('GET', 'models?alias=staging', { token: owner.token });
      expect(byAlias.body.items).toEqual([]);
      // The version it pointed at is still there.
      expect((await server.api('GET', 'models/churn/versions/1', { token: viewer.token })).status).toBe(200);
      expect((await server.api('GET', 'models/churn/aliases/production', { token: viewer.token })).body.number).toBe(2);
    });

    it('the removal is audited with who removed which alias', async () => {
      expect(await audits('model.alias.delete')).toEqual([{ actor_id: editor.id, details: { alias: 'staging' } }]);
    });

    it('removing an alias that is not set is a 404 naming it, and audits nothing', async () => {
      const res = await server.api('DELETE', 'models/churn/aliases/staging', { token: owner.token });
      expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'alias staging not found on model churn' } } });
      expect(await audits('model.alias.delete')).toHaveLength(1);
    });

    it('a viewer cannot remove an alias (403), an outsider learns nothing (404), and the alias stays', async () => {
      expect(await server.api('DELETE', 'models/churn/aliases/production', { token: viewer.token })).toMatchObject({
        status: 403,
        body: { error: { code: 'FORBIDDEN' } },
      });
      expect((await server.api('DELETE', 'models/churn/aliases/production', { token: outsider.token })).status).toBe(404);
      expect((await server.api('DELETE', 'models/churn/aliases/production', { token: null })).status).toBe(401);
      expect((await model()).aliases).toEqual({ production: 2 });
    });

    it('removing an alias of an unknown model is a 404', async () => {
      expect((await server.api('DELETE', 'models/no-such-model/aliases/production', { token: owner.token })).status).toBe(404);
    });

    it('a badly named alias is refused at the edge', async () => {
      expect((await server.api('DELETE', 'models/churn/aliases/bad%20alias', { token: owner.token })).status).toBe(400);
    });
  });

  describe('tags', () => {
    beforeAll(async () => {
      for (const [key, value] of [
        ['team', 'risk'],
        ['stage', 'beta'],
      ]) {
        expect((await server.api('PUT', `models/churn/tags/${key}`, { token: owner.token, body: { value } })).status).toBe(200);
      }
    });

    it('an editor removes one tag and the others stay', async () => {
      const res = await server.api('DELETE', 'models/churn/tags/stage', { token: editor.token });
      expect(res.status).toBe(200);
      expect(res.body.tags).toEqual({ team: 'risk' });
      expect((await model(viewer.token)).tags).toEqual({ team: 'risk' });
    });

    it('the removal is audited with who removed which tag', async () => {
      const entries = await audits('model.tag.delete');
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ actor_id: editor.id, details: { key: 'stage' } });
    });

    it('removing a tag that is not set is a 404 naming it, and audits nothing', async () => {
      const res = await server.api('DELETE', 'models/churn/tags/stage', { token: owner.token });
      expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'tag stage not found on model churn' } } });
      expect(await audits('model.tag.delete')).toHaveLength(1);
      expect((await model()).tags).toEqual({ team: 'risk' });
    });

    it('a viewer cannot remove a tag (403), an outsider learns nothing (404), and the tag stays', async () => {
      expect(await server.api('DELETE', 'models/churn/tags/team', { token: viewer.token })).toMatchObject({
        status: 403,
        body: { error: { code: 'FORBIDDEN' } },
      });
      expect((await server.api('DELETE', 'models/churn/tags/team', { token: outsider.token })).status).toBe(404);
      expect((await server.api('DELETE', 'models/churn/tags/team', { token: null })).status).toBe(401);
      expect((await model()).tags).toEqual({ team: 'risk' });
    });

    it('removing a tag of an unknown model is a 404', async () => {
      expect((await server.api('DELETE', 'models/no-such-model/tags/team', { token: owner.token })).status).toBe(404);
    });

    it('a removed tag no longer finds the model in search', async () => {
      const search = async (q: string) =>
        (await server.api('GET', `models?${q}`, { token: owner.token })).body.items.map((m: any) => m.name);
      expect(await search('tag=team:risk')).toEqual(['churn']);
      await server.api('DELETE', 'models/churn/tags/team', { token: owner.token });
      expect(await search('tag=team:risk')).toEqual([]);
    });
  });
});
