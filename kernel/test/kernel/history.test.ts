import { describe, expect, it } from 'vitest';
import { History } from '../../src/kernel/history.js';

describe('the history of a kernel session', () => {
  const history = new History();
  history.add(1, 'const a = 1;');
  history.add(2, 'a + 1');
  history.setOutput(2, '2');
  history.add(3, 'a + 1');

  it('answers the last n inputs, with their outputs when asked', () => {
    expect(history.query({ hist_access_type: 'tail', n: 2 })).toEqual([
      [1, 2, 'a + 1'],
      [1, 3, 'a + 1'],
    ]);
    expect(history.query({ hist_access_type: 'tail', n: 2, output: true })[0]).toEqual([1, 2, ['a + 1', '2']]);
  });

  it('answers a range of execution counts of the current session', () => {
    expect(history.query({ hist_access_type: 'range', session: 1, start: 2, stop: 3 })).toEqual([[1, 2, 'a + 1']]);
    expect(history.query({ hist_access_type: 'range', session: 0, start: 1 })).toHaveLength(3);
    expect(history.query({ hist_access_type: 'range', session: 7, start: 1 })).toEqual([]);
  });

  it('searches inputs with a glob, the last n and each input once when asked', () => {
    expect(history.query({ hist_access_type: 'search', pattern: 'a ?*' })).toHaveLength(2);
    expect(history.query({ hist_access_type: 'search', pattern: 'a*', unique: true })).toEqual([[1, 3, 'a + 1']]);
    expect(history.query({ hist_access_type: 'search', pattern: '*', n: 1 })).toEqual([[1, 3, 'a + 1']]);
  });
});
