import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, findPython, loadConfig, loadMachineConfig, loadWorkerConfig } from '../src/config.js';

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

describe('findPython()', () => {
  it('takes the configured Python, else the repository’s .venv, never a machine-specific path', () => {
    expect(findPython('/opt/py/bin/python')).toBe('/opt/py/bin/python');
    expect([path.resolve(import.meta.dirname, '../../.venv/bin/python'), 'python3']).toContain(findPython(undefined));
  });
});

describe('loadMachineConfig()', () => {
  it('finds Python and Chromium from TANDEM_PYTHON and TANDEM_CHROMIUM, with defaults', () => {
    expect(loadMachineConfig({})).toEqual({ python: findPython(undefined), chromium: '/usr/bin/chromium', jupyterPath: undefined });
    expect(loadMachineConfig({ TANDEM_PYTHON: '/p/python', TANDEM_CHROMIUM: '/c/chrome', JUPYTER_PATH: '/j' })).toEqual({
      python: '/p/python',
      chromium: '/c/chrome',
      jupyterPath: '/j',
    });
  });
});

describe('loadWorkerConfig()', () => {
  it('defaults to a local server, local Spark and the user’s cache folder', () => {
    expect(loadWorkerConfig({ HOME: os.homedir() })).toEqual({
      serverUrl: 'http://127.0.0.1:8787',
      token: undefined,
      cacheDir: path.join(os.homedir(), '.cache', 'tandem'),
      sparkMaster: 'local[*]',
      python: findPython(undefined),
    });
  });

  it('reads TANDEM_URL, TANDEM_WORKER_TOKEN, TANDEM_CACHE_DIR (else XDG_CACHE_HOME), TANDEM_SPARK_MASTER and TANDEM_PYTHON', () => {
    expect(
      loadWorkerConfig({
        TANDEM_URL: 'http://tandem:8787',
        TANDEM_WORKER_TOKEN: 'tw_1',
        TANDEM_CACHE_DIR: '/cache',
        TANDEM_SPARK_MASTER: 'spark://m:7077',
        TANDEM_PYTHON: '/p/python',
      }),
    ).toEqual({ serverUrl: 'http://tandem:8787', token: 'tw_1', cacheDir: '/cache', sparkMaster: 'spark://m:7077', python: '/p/python' });
    expect(loadWorkerConfig({ XDG_CACHE_HOME: '/xdg' }).cacheDir).toBe('/xdg/tandem');
  });
});
