import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig()', () => {
  it('defaults to embedded PGlite and the folder artifact store', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.s3).toBeUndefined();
    expect(config.port).toBe(8787);
    expect(config.sparkMaster).toBe('local[*]');
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ TANDEM_PORT: 'eighty', TANDEM_DATABASE_URL: 'mysql://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/TANDEM_PORT/);
    expect((error as ConfigError).message).toMatch(/TANDEM_DATABASE_URL: must be a postgres:\/\/ URL/);
  });

  it('rejects a partial S3 configuration', () => {
    expect(() => loadConfig({ TANDEM_S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(/must be set together/);
  });

  it('selects MinIO when all S3 variables are set', () => {
    const config = loadConfig({
      TANDEM_S3_ENDPOINT: 'http://127.0.0.1:9000',
      TANDEM_S3_ACCESS_KEY: 'a',
      TANDEM_S3_SECRET_KEY: 'b',
    });
    expect(config.s3).toMatchObject({ endpoint: 'http://127.0.0.1:9000', bucket: 'tandem' });
  });
});
