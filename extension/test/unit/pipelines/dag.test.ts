// The layout of a run's steps (layers from needs) and the classes that colour them.
import { describe, expect, it } from 'vitest';
import { layoutDag, stepClass } from '../../../src/pipelines/dag';

const layers = (steps: { id: string; needs: string[] }[]) =>
  Object.fromEntries(layoutDag(steps).nodes.map((n) => [n.id, [n.layer, n.index]]));

describe('layoutDag', () => {
  it('draws a single step alone in the first layer', () => {
    const layout = layoutDag([{ id: 'train', needs: [] }]);
    expect(layout.nodes.map((n) => [n.id, n.layer, n.index])).toEqual([['train', 0, 0]]);
    expect(layout.edges).toEqual([]);
    expect(layout.width).toBeGreaterThan(0);
    expect(layout.height).toBeGreaterThan(0);
  });

  it('puts each step one layer below the deepest step it needs', () => {
    expect(
      layers([
        { id: 'c', needs: ['b'] },
        { id: 'a', needs: [] },
        { id: 'b', needs: ['a'] },
        { id: 'd', needs: ['a', 'c'] },
      ]),
    ).toEqual({ a: [0, 0], b: [1, 0], c: [2, 0], d: [3, 0] });
  });

  it('lays out a diamond in three layers with an edge per need', () => {
    const steps = [
      { id: 'prep', needs: [] },
      { id: 'left', needs: ['prep'] },
      { id: 'right', needs: ['prep'] },
      { id: 'join', needs: ['left', 'right'] },
    ];
    const layout = layoutDag(steps);
    expect(layers(steps)).toEqual({ prep: [0, 0], left: [1, 0], right: [1, 1], join: [2, 0] });
    expect(layout.edges).toEqual([
      { from: 'prep', to: 'left' },
      { from: 'prep', to: 'right' },
      { from: 'left', to: 'join' },
      { from: 'right', to: 'join' },
    ]);
    const at = Object.fromEntries(layout.nodes.map((n) => [n.id, n]));
    // Layers go down; the one-step layers are centred over the two-step one.
    expect(at.prep!.y).toBeLessThan(at.left!.y);
    expect(at.left!.y).toBe(at.right!.y);
    expect(at.left!.x).toBeLessThan(at.right!.x);
    expect(at.prep!.x).toBe(at.join!.x);
  });

  it('ignores needs of steps that are not there and survives a cycle', () => {
    expect(layers([{ id: 'a', needs: ['ghost'] }])).toEqual({ a: [0, 0] });
    expect(layoutDag([]).nodes).toEqual([]);
    const cyclic = layoutDag([
      { id: 'a', needs: ['b'] },
      { id: 'b', needs: ['a'] },
    ]);
    expect(cyclic.nodes).toHaveLength(2);
  });
});

describe('stepClass', () => {
  it('maps every step status to its own class', () => {
    const statuses = ['pending', 'retrying', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
    expect(statuses.map(stepClass)).toEqual(statuses.map((s) => `tandem-pipelines-step-${s}`));
    expect(stepClass('unknown' as never)).toBe('tandem-pipelines-step-pending');
  });
});
