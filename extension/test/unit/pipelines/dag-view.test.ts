// The run graph on linkedom's DOM: one node per step, edges from needs, and nodes updated in place.
import { parseHTML } from 'linkedom';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineStepRun } from '../../../src/pipelines/api';
import { step } from './fixtures';

beforeAll(() => {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  (globalThis as { document?: unknown }).document = document;
});

const load = async () => (await import('../../../src/pipelines/dag-view')).DagView;

describe('DagView', () => {
  it('draws a node per step and an edge per need, coloured by status', async () => {
    const DagView = await load();
    const view = new DagView(() => undefined);
    view.update([
      step('prep', [], { status: 'succeeded' }),
      step('a', ['prep'], { status: 'running' }),
      step('b', ['prep']),
      step('join', ['a', 'b']),
    ]);
    expect(view.node.querySelectorAll('g[data-step]')).toHaveLength(4);
    expect(view.node.querySelectorAll('path.tandem-pipelines-edge')).toHaveLength(4);
    expect(view.nodeOf('prep')!.getAttribute('class')).toContain('tandem-pipelines-step-succeeded');
    expect(view.nodeOf('a')!.getAttribute('class')).toContain('tandem-pipelines-step-running');
  });

  it('updates a node in place when its status changes, with attempt and error in its tooltip', async () => {
    const DagView = await load();
    const opened: string[] = [];
    const view = new DagView((s: PipelineStepRun) => s.jobId && opened.push(s.jobId));
    view.update([step('train', [], { status: 'running', attempt: 1, jobId: 'j1' }), step('promote', ['train'])]);
    const before = view.nodeOf('train');
    const otherBefore = view.nodeOf('promote');
    view.update([
      step('train', [], { status: 'failed', attempt: 2, jobId: 'j1', error: 'out of memory', outputs: { rows: 3 } }),
      step('promote', ['train'], { status: 'skipped' }),
    ]);
    const after = view.nodeOf('train')!;
    expect(after).toBe(before);
    expect(view.nodeOf('promote')).toBe(otherBefore);
    expect(after.getAttribute('class')).toContain('tandem-pipelines-step-failed');
    expect(after.getAttribute('class')).not.toContain('tandem-pipelines-step-running');
    expect(after.querySelector('.tandem-pipelines-step-detail')!.textContent).toContain('attempt 2');
    const tooltip = after.querySelector('title')!.textContent!;
    expect(tooltip).toContain('error: out of memory');
    expect(tooltip).toContain('rows = 3');
    after.dispatchEvent(new (globalThis.document.defaultView as unknown as typeof globalThis).Event('click'));
    expect(opened).toEqual(['j1']);
  });

  it('redraws when the steps change', async () => {
    const DagView = await load();
    const view = new DagView(() => undefined);
    view.update([step('a')]);
    const first = view.nodeOf('a');
    view.update([step('a'), step('b', ['a'])]);
    expect(view.nodeOf('a')).not.toBe(first);
    expect(view.node.querySelectorAll('g[data-step]')).toHaveLength(2);
  });
});
