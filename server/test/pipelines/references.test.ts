import { describe, expect, it } from 'vitest';
import { referencesIn, substitute } from '../../src/pipelines/references.js';

const values = {
  params: { data: 's3://bucket/x.csv', n: 3 },
  event: { path: 'daily/a.csv' },
  steps: { train: { version: 4, model: 'ana/churn' } },
};

describe('step references', () => {
  it('keeps the type of a string that is one reference, and writes references out inside text', () => {
    expect(
      substitute({ version: '{{ steps.train.version }}', note: 'v{{steps.train.version}} of {{ steps.train.model }}' }, values),
    ).toEqual({
      version: 4,
      note: 'v4 of ana/churn',
    });
    expect(substitute(['{{ params.n }}', 1, true, null], values)).toEqual([3, 1, true, null]);
  });

  it('reads what triggered the run, and null in a run no event started', () => {
    expect(substitute({ file: '{{ event.path }}' }, values)).toEqual({ file: 'daily/a.csv' });
    expect(substitute('{{ event.path }}', { ...values, event: null })).toBeNull();
  });

  it('finds references anywhere in a step', () => {
    expect(referencesIn({ spec: { inputs: { data: '{{ params.data }}' }, args: ['{{ steps.train.model }}'] } })).toEqual([
      { scope: 'params', name: 'data' },
      { scope: 'steps', name: 'train', field: 'model' },
    ]);
  });

  it('names a reference it cannot read or resolve', () => {
    expect(() => referencesIn('{{ train.version }}')).toThrow(
      /write \{\{ params.<name> \}\}, \{\{ event.<field> \}\} or \{\{ steps.<step>.<output> \}\}/,
    );
    expect(() => substitute('{{ steps.eval.score }}', values)).toThrow(/steps.eval has no outputs/);
  });
});
