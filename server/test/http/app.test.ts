import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

describe('server basics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server.stop());

  it('/healthz reports the database and artifact store', async () => {
    const res = await server.api('GET', '/healthz', { token: null });
    expect(res).toMatchObject({ status: 200, body: { status: 'ok', db: 'ok', artifacts: 'ok' } });
  });

  it('/metrics speaks the Prometheus text format', async () => {
    await server.api('GET', 'me');
    const res = await server.api('GET', '/metrics', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/# TYPE tandem_http_request_duration_seconds histogram/);
    expect(res.body).toMatch(/tandem_http_request_duration_seconds_count\{[^}]*route="\/tandem\/api\/me"/);
  });

  it('serves an OpenAPI document listing the routes', async () => {
    const res = await server.api('GET', 'openapi.json', { token: null });
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toContain('/tandem/api/me');
  });

  it('rejects anonymous and bad tokens with 401 and a message', async () => {
    expect(await server.api('GET', 'me', { token: null })).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    expect(await server.api('GET', 'me', { token: 'tdm_nope' })).toMatchObject({ status: 401 });
  });

  it('validates input with a message naming the bad field', async () => {
    const res = await server.api('POST', 'users', { body: { name: '../evil' } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/body\.name/);
  });

  it('answers malformed JSON with 400, unknown routes with 404', async () => {
    const bad = await server.api('POST', 'teams', { body: undefined, headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    const res = await fetch(`${server.url}/tandem/api/teams`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: '{"name": ',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/malformed JSON/);
    expect((await server.api('GET', 'nope')).status).toBe(404);
  });

  it('only admins create users; a new user sees only themself', async () => {
    const ann = await server.user('ann');
    expect((await server.api('POST', 'users', { token: ann.token, body: { name: 'x' } })).status).toBe(403);
    expect((await server.api('GET', 'me', { token: ann.token })).body).toMatchObject({ name: 'ann', isAdmin: false });
  });

  it('worker tokens cannot use the user API', async () => {
    const ann = await server.user('wann');
    const created = await server.api('POST', 'tokens', { token: ann.token, body: { name: 'w', kind: 'worker' } });
    expect((await server.api('GET', 'me', { token: created.body.token })).status).toBe(403);
  });
});
