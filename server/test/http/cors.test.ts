import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

const LAB = 'http://lab.example.com:8888';
const HUB = 'https://hub.example.com';
const OTHER = 'https://evil.example.net';

describe('CORS with an allow-list (TANDEM_ALLOWED_ORIGINS)', () => {
  let server: TestServer;

  beforeAll(async () => {
    // Spaces around the commas are allowed in the setting.
    server = await startTestServer({ db: 'postgres', env: { TANDEM_ALLOWED_ORIGINS: `${LAB} , ${HUB}` } });
  });
  afterAll(() => server.stop());

  const get = (path: string, origin: string, token: string | null = server.adminToken) =>
    fetch(`${server.url}${path}`, { headers: { origin, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  const preflight = (path: string, origin: string, method = 'DELETE') =>
    fetch(`${server.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
    });

  it('an allowed origin gets its own origin back in Access-Control-Allow-Origin', async () => {
    for (const origin of [LAB, HUB]) {
      const res = await get('/tandem/api/me', origin);
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
      expect(res.headers.get('access-control-expose-headers')).toMatch(/X-Tandem-Sha256/);
    }
  });

  it('another origin gets no CORS headers, so its browser keeps the answer from the page', async () => {
    for (const origin of [OTHER, 'http://lab.example.com', `${LAB}/`, 'null']) {
      const res = await get('/tandem/api/me', origin);
      expect({ origin, allow: res.headers.get('access-control-allow-origin') }).toEqual({ origin, allow: null });
      expect(res.headers.get('access-control-allow-methods')).toBeNull();
    }
  });

  it('a preflight from an allowed origin is answered 204 without a token, naming the methods and headers', async () => {
    const res = await preflight('/tandem/api/models/churn', LAB);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(LAB);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/\bDELETE\b/);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/\bAuthorization\b/);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/\bContent-Type\b/);
  });

  it('a preflight from another origin carries no permission', async () => {
    const res = await preflight('/tandem/api/models/churn', OTHER, 'PUT');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-methods')).toBeNull();
    expect(res.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('error answers to an allowed origin carry the header too, so the page can read the error', async () => {
    const res = await get('/tandem/api/me', LAB, 'tdm_not-a-token');
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(LAB);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
  });

  it('requests without an Origin (curl, workers, kernels) are served as before', async () => {
    const res = await fetch(`${server.url}/tandem/api/me`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS by default (TANDEM_ALLOWED_ORIGINS unset: any origin)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
  });
  afterAll(() => server.stop());

  it('reflects whichever origin asks', async () => {
    for (const origin of [LAB, OTHER]) {
      const res = await fetch(`${server.url}/tandem/api/me`, { headers: { origin, authorization: `Bearer ${server.adminToken}` } });
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    }
  });
});
