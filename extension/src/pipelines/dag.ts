// A pipeline run's steps as a graph to draw, without the DOM: each step's layer (the longest chain
// of `needs` before it), its place in the layer, and the edges from what it needs.
import type { PipelineStepStatus } from './api';

export interface DagStep {
  id: string;
  needs: readonly string[];
}

export interface DagNode {
  id: string;
  /** 0 for steps that need nothing; else one more than the deepest step needed. */
  layer: number;
  /** Place in the layer, left to right. */
  index: number;
  /** Top-left corner, in the drawing's units. */
  x: number;
  y: number;
}

export interface DagEdge {
  from: string;
  to: string;
}

export interface DagLayout {
  nodes: DagNode[];
  edges: DagEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 128;
export const NODE_HEIGHT = 40;
const GAP_X = 16;
const GAP_Y = 28;
const MARGIN = 4;

/** Layers from `needs` (top to bottom), each ordered by where its steps' needs sit (fewer crossings). */
export function layoutDag(steps: readonly DagStep[]): DagLayout {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const layers = new Map<string, number>();
  const visiting = new Set<string>();
  const layerOf = (id: string): number => {
    const known = layers.get(id);
    if (known !== undefined) return known;
    // The server refuses cycles; a cycle here anyway is cut rather than recursed into.
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const needs = (byId.get(id)?.needs ?? []).filter((n) => byId.has(n));
    const layer = needs.length === 0 ? 0 : 1 + Math.max(...needs.map(layerOf));
    visiting.delete(id);
    layers.set(id, layer);
    return layer;
  };
  const rows: string[][] = [];
  for (const step of steps) (rows[layerOf(step.id)] ??= []).push(step.id);
  const index = new Map<string, number>();
  const nodes: DagNode[] = [];
  let widest = 0;
  rows.forEach((row = [], layer) => {
    const centre = (id: string) => {
      const placed = (byId.get(id)!.needs ?? []).map((n) => index.get(n)).filter((i): i is number => i !== undefined);
      return placed.length === 0 ? Number.POSITIVE_INFINITY : placed.reduce((a, b) => a + b, 0) / placed.length;
    };
    // Stable: steps with needs placed alike keep their definition order.
    const ordered = row.map((id, order) => ({ id, order, centre: centre(id) })).sort((a, b) => a.centre - b.centre || a.order - b.order);
    ordered.forEach(({ id }, i) => {
      index.set(id, i);
      nodes.push({ id, layer, index: i, x: 0, y: MARGIN + layer * (NODE_HEIGHT + GAP_Y) });
    });
    widest = Math.max(widest, ordered.length);
  });
  const width = MARGIN * 2 + widest * NODE_WIDTH + Math.max(0, widest - 1) * GAP_X;
  // Each layer is centred in the widest one.
  const counts = rows.map((row = []) => row.length);
  for (const node of nodes) {
    const rowWidth = counts[node.layer]! * NODE_WIDTH + (counts[node.layer]! - 1) * GAP_X;
    node.x = (width - rowWidth) / 2 + node.index * (NODE_WIDTH + GAP_X);
  }
  const edges = steps.flatMap((s) => s.needs.filter((n) => byId.has(n)).map((from) => ({ from, to: s.id })));
  const height = rows.length === 0 ? 0 : MARGIN * 2 + rows.length * NODE_HEIGHT + (rows.length - 1) * GAP_Y;
  return { nodes, edges, width, height };
}

const STEP_CLASSES: Record<PipelineStepStatus, string> = {
  pending: 'tandem-pipelines-step-pending',
  retrying: 'tandem-pipelines-step-retrying',
  running: 'tandem-pipelines-step-running',
  succeeded: 'tandem-pipelines-step-succeeded',
  failed: 'tandem-pipelines-step-failed',
  skipped: 'tandem-pipelines-step-skipped',
  cancelled: 'tandem-pipelines-step-cancelled',
};

/** The class that colours a step's node by its status (pipelines.css); unknown statuses look pending. */
export function stepClass(status: PipelineStepStatus): string {
  return STEP_CLASSES[status] ?? STEP_CLASSES.pending;
}
