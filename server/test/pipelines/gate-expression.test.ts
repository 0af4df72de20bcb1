import { describe, expect, it } from 'vitest';
import { parseExpression } from '../../src/pipelines/gate-expression.js';

const values = {
  params: { min: 0.8, force: false, env: 'prod' },
  event: { version: 3 },
  steps: { train: { accuracy: 0.9, model: 'ana/churn' } },
};
const holds = (source: string) => parseExpression(source).evaluate(values);

describe('gate expressions', () => {
  it('compares numbers, strings and booleans', () => {
    expect(holds('steps.train.accuracy >= params.min')).toBe(true);
    expect(holds('steps.train.accuracy < 0.5')).toBe(false);
    expect(holds("params.env == 'prod'")).toBe(true);
    expect(holds('params.force == false')).toBe(true);
    expect(holds('event.version > 2')).toBe(true);
  });

  it('joins with and, or, not and parentheses, and lists what it reads', () => {
    expect(holds('not params.force and (steps.train.accuracy > 0.95 or params.env != "dev")')).toBe(true);
    expect(parseExpression('steps.train.accuracy > params.min').references).toEqual([
      { scope: 'steps', name: 'train', field: 'accuracy' },
      { scope: 'params', name: 'min' },
    ]);
  });

  it('names what it cannot read', () => {
    expect(() => parseExpression('steps.train.accuracy >')).toThrow(/expected a value at the end/);
    expect(() => parseExpression('process.exit(1)')).toThrow(/unknown name "process.exit"/);
    expect(() => parseExpression('1 = 1')).toThrow(/cannot read "= 1"/);
    expect(() => parseExpression('(1 > 0')).toThrow(/missing \)/);
  });

  it('refuses to order values of different types, and names a missing output', () => {
    expect(() => holds('steps.train.model > 1')).toThrow(/cannot order "ana\/churn" and 1/);
    expect(() => holds('steps.train.loss > 1')).toThrow(/steps.train.loss is not an output of step train \(it has: accuracy, model\)/);
  });
});
