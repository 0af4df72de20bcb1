import { afterEach, describe, expect, it, vi } from 'vitest';
import { currentNotebook } from '../src/notebook.js';

describe('currentNotebook (what lineage names)', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('names a shared notebook by the id the Tandem drive told the kernel, not the local path Jupyter made up', () => {
    vi.stubEnv('JPY_SESSION_NAME', '/home/ana/notebooks/Untitled1.ipynb');
    vi.stubEnv('TANDEM_NOTEBOOK', 'tandem:0b9d2c4e');
    expect(currentNotebook()).toBe('tandem:0b9d2c4e');
  });

  it("names a local notebook by Jupyter's session path, and nothing outside Jupyter", () => {
    vi.stubEnv('TANDEM_NOTEBOOK', '');
    vi.stubEnv('JPY_SESSION_NAME', '/home/ana/notebooks/churn.ipynb');
    expect(currentNotebook()).toBe('/home/ana/notebooks/churn.ipynb');
    vi.stubEnv('JPY_SESSION_NAME', '');
    expect(currentNotebook()).toBeUndefined();
  });
});
