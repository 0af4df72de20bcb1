import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { registerOverHttp } from './support.js';

// PGlite is a single connection, so real lock contention needs real PostgreSQL (and real MinIO).
describe('concurrent registration [postgres + minio]', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres', store: 'minio' });
    expect((await server.api('POST', 'models', { body: { name: 'busy' } })).status).toBe(201);
  });
  afterAll(() => server.stop());

  it('50 concurrent registrations of one model get 50 distinct, consecutive version numbers', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        registerOverHttp(server, 'busy', { 'model.bin': `weights ${i}` }, { metadata: { metrics: { i } } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    const numbers = results.map((r) => r.body.number as number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const model = await server.api('GET', 'models/busy');
    expect(model.body.latestVersion).toBe(50);
    expect((await server.api('GET', 'models/busy/versions?limit=100')).body.total).toBe(50);
  });
});
