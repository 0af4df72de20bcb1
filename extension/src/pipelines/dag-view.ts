import { nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import { svg } from '../dom';
import type { PipelineStepRun, PipelineValue } from './api';
import { layoutDag, NODE_HEIGHT, NODE_WIDTH, stepClass } from './dag';

const MAX_LABEL = 17;

/** What a node draws, kept to update it in place. */
interface DrawnStep {
  group: SVGElement;
  label: SVGElement;
  detail: SVGElement;
  title: SVGElement;
  step: PipelineStepRun;
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const show = (value: PipelineValue) => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * A run's steps drawn as SVG: one node per step in layers by `needs`, edges from what each needs,
 * coloured by status (pipelines.css), with the attempt and, as a tooltip, error and outputs.
 * update() redraws only when the steps or their needs changed; otherwise it updates each node in
 * place. Activating a step calls `activate` (the section opens its job's log when it has one).
 */
export class DagView {
  readonly node: SVGElement;
  private readonly drawn = new Map<string, DrawnStep>();
  private structure = '';

  constructor(
    private readonly activate: (step: PipelineStepRun) => void,
    private readonly trans: TranslationBundle = nullTranslator.load('tandem'),
  ) {
    this.node = svg('svg', { class: 'tandem-pipelines-dag', role: 'group', 'aria-label': trans.__('pipeline steps') });
  }

  /** The node drawn for a step, if any. */
  nodeOf(id: string): SVGElement | undefined {
    return this.drawn.get(id)?.group;
  }

  update(steps: readonly PipelineStepRun[]): void {
    const structure = JSON.stringify(steps.map((s) => [s.id, s.needs]));
    if (structure !== this.structure) this.build(steps);
    this.structure = structure;
    for (const step of steps) this.refresh(step);
  }

  private build(steps: readonly PipelineStepRun[]): void {
    this.drawn.clear();
    this.node.replaceChildren();
    const layout = layoutDag(steps);
    this.node.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
    this.node.setAttribute('width', String(layout.width));
    this.node.setAttribute('height', String(layout.height));
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    const edges = svg('g', { class: 'tandem-pipelines-edges' });
    for (const edge of layout.edges) {
      const from = at.get(edge.from)!;
      const to = at.get(edge.to)!;
      const [x1, y1, x2, y2] = [from.x + NODE_WIDTH / 2, from.y + NODE_HEIGHT, to.x + NODE_WIDTH / 2, to.y];
      const mid = (y1 + y2) / 2;
      edges.append(
        svg('path', {
          class: 'tandem-pipelines-edge',
          'data-from': edge.from,
          'data-to': edge.to,
          d: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`,
        }),
      );
    }
    this.node.append(edges);
    for (const step of steps) {
      const { x, y } = at.get(step.id)!;
      const title = svg('title');
      const label = svg('text', { class: 'tandem-pipelines-step-name', x: 8, y: 16 }, clip(step.id, MAX_LABEL));
      const detail = svg('text', { class: 'tandem-pipelines-step-detail', x: 8, y: 31 });
      const group = svg(
        'g',
        { 'data-step': step.id, transform: `translate(${x},${y})`, tabindex: 0, role: 'button' },
        title,
        svg('rect', { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 4 }),
        svg('circle', { class: 'tandem-pipelines-step-dot', cx: NODE_WIDTH - 10, cy: 10, r: 4 }),
        label,
        detail,
      );
      const activate = () => this.activate(this.drawn.get(step.id)!.step);
      group.addEventListener('click', activate);
      group.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && activate());
      this.node.append(group);
      this.drawn.set(step.id, { group, label, detail, title, step });
    }
  }

  /** Updates a node's class, texts and tooltip where they changed: the node itself stays. */
  private refresh(step: PipelineStepRun): void {
    const drawn = this.drawn.get(step.id)!;
    drawn.step = step;
    const trans = this.trans;
    const classes = ['tandem-pipelines-step', stepClass(step.status), step.jobId ? 'tandem-pipelines-step-job' : '']
      .filter(Boolean)
      .join(' ');
    set(drawn.group, 'class', classes);
    set(drawn.group, 'aria-label', trans.__('%1: %2', step.id, step.status));
    const detail = step.attempt > 1 ? trans.__('%1 · attempt %2', step.status, step.attempt) : `${step.kind} · ${step.status}`;
    if (drawn.detail.textContent !== detail) drawn.detail.textContent = detail;
    const lines = [trans.__('%1 (%2): %3', step.id, step.kind, step.status)];
    if (step.attempt > 0) lines.push(trans.__('attempt %1', step.attempt));
    if (step.error) lines.push(trans.__('error: %1', step.error));
    const outputs = Object.entries(step.outputs);
    if (outputs.length > 0) lines.push(trans.__('outputs:'), ...outputs.map(([k, v]) => `  ${k} = ${show(v)}`));
    if (step.jobId) lines.push(trans.__('click to open the job’s log'));
    const tooltip = lines.join('\n');
    if (drawn.title.textContent !== tooltip) drawn.title.textContent = tooltip;
  }
}

function set(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}
