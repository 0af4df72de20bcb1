import { describe, expect, it } from 'vitest';
import { RunCache } from '../../src/tracking/run-cache.js';
import type { Run } from '../../src/tracking/tracking.store.js';

const run = (id: string, name = id) => ({ id, name }) as Run;

describe('RunCache', () => {
  it('answers a run only at the version it was kept at', () => {
    const cache = new RunCache();
    cache.set(run('a'), '3');
    expect(cache.get('a', '3')?.name).toBe('a');
    expect(cache.get('a', '4')).toBeUndefined();
    expect(cache.get('b', '3')).toBeUndefined();
  });

  it('keeps the newer read of a run in place of the older', () => {
    const cache = new RunCache();
    cache.set(run('a', 'old'), '1');
    cache.set(run('a', 'new'), '2');
    expect(cache.get('a', '1')).toBeUndefined();
    expect(cache.get('a', '2')?.name).toBe('new');
  });

  it('drops the least recently used run past its capacity', () => {
    const cache = new RunCache(2);
    cache.set(run('a'), '0');
    cache.set(run('b'), '0');
    cache.get('a', '0'); // a is now the most recently used
    cache.set(run('c'), '0');
    expect([cache.get('a', '0'), cache.get('b', '0'), cache.get('c', '0')].map((r) => r?.id)).toEqual(['a', undefined, 'c']);
  });
});
