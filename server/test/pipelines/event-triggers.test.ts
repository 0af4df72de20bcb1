import { describe, expect, it } from 'vitest';
import { globPattern, triggeringEvent } from '../../src/pipelines/event-triggers.js';

describe('event triggers', () => {
  it.each([
    ['*.csv', 'a.csv', true],
    ['*.csv', 'daily/a.csv', false],
    ['daily/**/*.csv', 'daily/2026/12/a.csv', true],
    ['daily/**/*.csv', 'daily/a.csv', true],
    ['**', 'any/depth/at/all', true],
    ['data?.parquet', 'data1.parquet', true],
    ['data?.parquet', 'data/.parquet', false],
    ['a+b (1).csv', 'a+b (1).csv', true],
    ['a.csv', 'aXcsv', false],
  ])('glob %s matches %s: %s', (glob, path, matches) => {
    expect(globPattern(glob).test(path)).toBe(matches);
  });

  it('reads a logged artifact as its experiment, run and path, keyed by its content', () => {
    const event = triggeringEvent({
      type: 'experiment.artifact.logged',
      resourceType: 'experiment',
      resourceId: 'e1',
      at: '',
      data: { experiment: 'datasets', runId: 'r1', path: 'daily/a.csv', sha256: 'abc' },
    })!;
    expect(event).toMatchObject({
      key: 'artifact.logged:r1:daily/a.csv:abc',
      values: { experiment: 'datasets', runId: 'r1', path: 'daily/a.csv' },
      resource: { type: 'experiment', id: 'e1' },
    });
    expect(event.matches({ on: 'artifact.logged', experiment: 'datasets', path: 'daily/*.csv' })).toBe(true);
    expect(event.matches({ on: 'artifact.logged', experiment: 'e1' })).toBe(true);
    expect(event.matches({ on: 'artifact.logged', experiment: 'other' })).toBe(false);
    expect(event.matches({ on: 'model.version.created' })).toBe(false);
  });

  it('ignores events that start no pipeline', () => {
    expect(triggeringEvent({ type: 'experiment.updated', resourceType: 'experiment', resourceId: 'e1', at: '' })).toBeUndefined();
    expect(triggeringEvent({ type: 'job.updated', resourceType: 'job', resourceId: 'j1', at: '' })).toBeUndefined();
  });
});
