import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

describe('/metrics with TANDEM_METRICS_TOKEN set', () => {
  const metricsToken = 'prometheus-scrape-secret-1234';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_METRICS_TOKEN: metricsToken } });
  });
  afterAll(() => server.stop());

  it('answers the scraper that presents the token', async () => {
    const res = await server.api('GET', '/metrics', { token: metricsToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/# TYPE tandem_http_request_duration_seconds histogram/);
  });

  it('refuses anyone else with 401, API tokens included: they are not metrics tokens', async () => {
    const alice = await server.user('alice');
    for (const token of [null, 'wrong', `${metricsToken}x`, alice.token, server.adminToken]) {
      const res = await server.api('GET', '/metrics', { token });
      expect(res.status, String(token)).toBe(401);
      expect(JSON.stringify(res.body)).not.toMatch(/tandem_http_request_duration_seconds/);
    }
  });

  it('refuses to start with a token too short to be a secret', async () => {
    await expect(startTestServer({ env: { TANDEM_METRICS_TOKEN: 'short' } })).rejects.toThrow(/TANDEM_METRICS_TOKEN/);
  });
});
