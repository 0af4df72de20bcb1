import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { h, KeyedRows } from '../dom';
import {
  isActiveRun,
  RETRYABLE_RUN,
  type Pipeline,
  type PipelineRunSummary,
  type PipelinesApi,
  type PipelineStepRun,
  type PipelineValue,
} from './api';
import { DagView } from './dag-view';
import { definitionText, editDefinition, NEW_PIPELINE } from './definition-dialog';
import { Poller, PipelinesModel } from './pipelines-model';
import { runNow } from './run-dialog';

/** What the empty section shows: how a cell defines a first pipeline. */
const FIRST_PIPELINE_SNIPPET = `import { pipelines } from '@tandem/kernel';
await pipelines.define({
  name: 'nightly-churn',
  schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' },
  steps: [
    { id: 'train', kind: 'notebook', notebook: '<shared notebook id>' },
    { id: 'promote', kind: 'alias', needs: ['train'], model: 'churn', alias: 'prod', version: '{{ steps.train.version }}' },
  ],
});`;

interface PipelineRow {
  pipeline: Pipeline;
  selected: boolean;
}

interface RunRow {
  run: PipelineRunSummary;
  selected: boolean;
}

/** A part of the detail, rebuilt only when what it shows (`data`) changed. */
interface Part {
  key: string;
  data: unknown;
}

const when = (time: string | null) => (time ? new Date(time).toLocaleString() : '');

/** The schedule as people read it: cron and time zone with the next run, the events it runs on, or neither. */
export function scheduleText(pipeline: Pipeline, trans: TranslationBundle): string {
  const { schedule, on } = pipeline.definition;
  if (schedule) {
    const cron = `${schedule.cron} (${schedule.timezone ?? 'UTC'})`;
    return pipeline.nextRunAt ? trans.__('%1 · next %2', cron, when(pipeline.nextRunAt)) : cron;
  }
  if (on && on.length > 0)
    return trans.__('on %1', on.map((t) => [t.on, t.model, t.alias, t.experiment, t.path].filter(Boolean).join(' ')).join(', '));
  return trans.__('manual runs only');
}

/**
 * The Pipelines section of the Jobs panel: the pipelines the person can see with their schedule and
 * last run; the selected one's runs; the selected run's steps as a graph (a step's job opens in
 * the panel's job view). Run now, Cancel and Retry act on them; New pipeline and Edit open the
 * definition (JSON or YAML) in a dialog. The state is a PipelinesModel,
 * polled while the section is visible; an update rebuilds only the rows and parts that changed,
 * and the graph's nodes are updated in place.
 */
export class PipelinesSection extends Widget {
  readonly model: PipelinesModel;
  private readonly trans: TranslationBundle;
  private readonly poller: Poller;
  private readonly status = h('div', { class: 'tandem-jobs-status tandem-pipelines-status', role: 'status' });
  private readonly empty = h(
    'div',
    { class: 'tandem-pipelines-empty' },
    h('p', {}),
    h('pre', { class: 'tandem-pipelines-snippet' }, FIRST_PIPELINE_SNIPPET),
  );
  private readonly rows = new KeyedRows<PipelineRow>(
    h('ul', { class: 'tandem-jobs-results tandem-pipelines-results' }),
    (row) => row.pipeline.id,
    (row) => this.item(row),
  );
  private readonly pager: HTMLElement;
  private readonly previous: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly detail = h('div', { class: 'tandem-pipelines-detail' });
  private readonly header = new KeyedRows<Part>(
    h('div', { class: 'tandem-pipelines-detail-header' }),
    (part) => part.key,
    (part) => this.headerPart(part.key),
  );
  private readonly message = h('div', { class: 'tandem-jobs-error tandem-pipelines-message', role: 'alert' });
  private readonly runs = new KeyedRows<RunRow>(
    h('ul', { class: 'tandem-jobs-results tandem-pipelines-runs', 'aria-label': 'runs' }),
    (row) => row.run.id,
    (row) => this.runItem(row),
  );
  private readonly noRuns = h('div', { class: 'tandem-jobs-meta tandem-pipelines-no-runs' });
  private readonly actions = new KeyedRows<Part>(
    h('div', { class: 'tandem-pipelines-actions' }),
    (part) => part.key,
    () => this.runActions(),
  );
  private readonly dag: DagView;
  private readonly step = h('pre', { class: 'tandem-pipelines-step-info' });
  private selectedStep: string | undefined;

  constructor(
    api: PipelinesApi,
    private readonly openJob: (jobId: string) => void,
    translator: ITranslator = nullTranslator,
  ) {
    super({ node: h('section', { class: 'tandem-pipelines' }) });
    const trans = (this.trans = translator.load('tandem'));
    this.empty.firstElementChild!.textContent = trans.__(
      'No pipelines yet. Define one from a cell with pipelines.define({...}) from @tandem/kernel:',
    );
    this.previous = h(
      'button',
      { class: 'tandem-pipelines-previous', title: trans.__('previous page'), onclick: () => void this.model.previousPage() },
      '‹',
    );
    this.next = h(
      'button',
      { class: 'tandem-pipelines-next', title: trans.__('next page'), onclick: () => void this.model.nextPage() },
      '›',
    );
    this.pager = h('div', { class: 'tandem-pipelines-pager' }, this.previous, this.next);
    this.dag = new DagView((step) => this.activateStep(step), trans);
    this.model = new PipelinesModel(api);
    this.model.stateChanged.connect(this.render, this);
    this.runs.node.setAttribute('aria-label', trans.__('runs'));
    this.noRuns.textContent = trans.__('No runs yet.');
    this.detail.append(
      this.header.node,
      this.message,
      this.noRuns,
      this.runs.node,
      this.actions.node,
      h('div', { class: 'tandem-pipelines-dag-box' }, this.dag.node),
      this.step,
    );
    this.node.append(
      h(
        'div',
        { class: 'tandem-pipelines-title' },
        h('h3', { class: 'tandem-pipelines-heading' }, trans.__('Pipelines')),
        h('button', { class: 'jp-mod-styled tandem-pipelines-new', onclick: () => void this.edit() }, trans.__('New pipeline')),
      ),
      this.status,
      this.empty,
      this.rows.node,
      this.pager,
      this.detail,
    );
    this.poller = new Poller(
      () => this.model.refresh(),
      () => this.model.pollMs,
      () => this.isVisible,
    );
    this.render();
    void this.model.refresh();
    this.poller.start();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.poller.dispose();
    this.model.dispose();
    super.dispose();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
    this.poller.start();
  }

  protected override onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.poller.stop();
  }

  /** Shows a pipeline's runs (a second click on it closes them). */
  select(id: string): Promise<void> {
    this.selectedStep = undefined;
    return this.model.select(this.model.selected === id ? undefined : id);
  }

  private render(): void {
    const trans = this.trans;
    const model = this.model;
    const { items, total, nextPageToken, pipeline, runs, run } = model.value;
    const error = model.error;
    this.rows.update(items.map((p) => ({ pipeline: p, selected: p.id === model.selected })));
    const none = model.loaded && error === undefined && total === 0;
    this.empty.hidden = !none;
    this.status.textContent = error ?? (!model.loaded ? trans.__('Loading…') : none ? '' : trans._n('%1 pipeline', '%1 pipelines', total));
    this.status.classList.toggle('tandem-jobs-error', error !== undefined);
    this.pager.hidden = model.pager.index === 0 && !nextPageToken;
    this.previous.disabled = model.pager.index === 0;
    this.next.disabled = !nextPageToken;

    this.detail.hidden = !model.selected || !pipeline;
    this.message.textContent = model.message ?? '';
    this.message.hidden = !model.message;
    if (!pipeline || !model.selected) return;
    this.header.update([
      { key: 'name', data: pipeline.name },
      { key: 'description', data: pipeline.description },
      { key: 'run', data: [pipeline.id, pipeline.definition.parameters] },
      { key: 'edit', data: pipeline.id },
    ]);
    this.runs.update(runs.map((r) => ({ run: r, selected: r.id === model.selectedRun })));
    this.noRuns.hidden = runs.length > 0;
    this.actions.update(run ? [{ key: 'actions', data: [run.id, run.status] }] : []);
    for (const button of this.detail.querySelectorAll<HTMLButtonElement>('.tandem-pipelines-run-now, .tandem-pipelines-run-actions button'))
      button.disabled = model.busy;
    const steps = run?.steps ?? [];
    this.dag.update(steps);
    const step = steps.find((s) => s.id === this.selectedStep);
    this.step.hidden = !step;
    this.step.textContent = step ? this.stepInfo(step) : '';
  }

  /** A step without a job shows its error and outputs below the graph; one with a job opens the job's log. */
  private activateStep(step: PipelineStepRun): void {
    if (step.jobId) {
      this.openJob(step.jobId);
      return;
    }
    this.selectedStep = this.selectedStep === step.id ? undefined : step.id;
    this.render();
  }

  private stepInfo(step: PipelineStepRun): string {
    const trans = this.trans;
    const lines = [trans.__('%1 (%2): %3, attempt %4', step.id, step.kind, step.status, step.attempt)];
    if (step.startedAt) lines.push(trans.__('started %1', when(step.startedAt)));
    if (step.finishedAt) lines.push(trans.__('finished %1', when(step.finishedAt)));
    if (step.nextAttemptAt) lines.push(trans.__('next attempt %1', when(step.nextAttemptAt)));
    if (step.error) lines.push(trans.__('error: %1', step.error));
    for (const [name, value] of Object.entries(step.outputs)) lines.push(`${name} = ${JSON.stringify(value)}`);
    return lines.join('\n');
  }

  private item({ pipeline, selected }: PipelineRow): HTMLElement {
    const trans = this.trans;
    const open = () => void this.select(pipeline.id);
    const last = pipeline.lastRun;
    return h(
      'li',
      {
        class: `tandem-jobs-item tandem-pipelines-item${selected ? ' tandem-pipelines-selected' : ''}`,
        'data-pipeline': pipeline.id,
        tabindex: 0,
        'aria-selected': String(selected),
        title: trans.__('Show the runs of %1', pipeline.name),
        onclick: open,
        onkeydown: (e) => (e as KeyboardEvent).key === 'Enter' && open(),
      },
      h(
        'div',
        { class: 'tandem-jobs-item-name' },
        pipeline.name,
        last
          ? h('span', { class: `tandem-jobs-chip tandem-jobs-${last.status}`, title: trans.__('last run #%1', last.number) }, last.status)
          : h('span', { class: 'tandem-pipelines-never' }, trans.__('never run')),
      ),
      h('div', { class: 'tandem-jobs-meta tandem-pipelines-schedule' }, scheduleText(pipeline, trans)),
    );
  }

  /** Asks for the parameters (if any) and starts the selected pipeline. */
  private runNow(): void {
    const pipeline = this.model.value.pipeline;
    if (!pipeline) return;
    const start = async (params: Record<string, PipelineValue>) => {
      const run = await this.model.start(params);
      return run ? {} : { error: this.model.message ?? this.trans.__('The run did not start') };
    };
    void runNow(pipeline, start, this.trans);
  }

  /** Opens the selected pipeline's definition (`pipeline`), or a new one's, until the server takes it. */
  private edit(pipeline?: Pipeline): Promise<boolean> {
    const trans = this.trans;
    return editDefinition(
      pipeline ? trans.__('Edit “%1”', pipeline.name) : trans.__('New pipeline'),
      pipeline ? definitionText(pipeline) : NEW_PIPELINE,
      (text) => this.model.save(text, pipeline?.id),
      trans,
    );
  }

  private headerPart(key: string): HTMLElement {
    const pipeline = this.model.value.pipeline!;
    const trans = this.trans;
    switch (key) {
      case 'name':
        return h('div', { class: 'tandem-jobs-detail-name' }, pipeline.name);
      case 'description':
        return h('div', { class: 'tandem-jobs-meta' }, pipeline.description);
      case 'edit':
        return h(
          'button',
          { class: 'jp-mod-styled tandem-pipelines-edit', onclick: () => void this.edit(this.model.value.pipeline) },
          trans.__('Edit definition'),
        );
      default:
        return h(
          'button',
          {
            class: 'jp-mod-styled jp-mod-accept tandem-pipelines-run-now',
            onclick: () => this.runNow(),
          },
          trans.__('Run now'),
        );
    }
  }

  private runItem({ run, selected }: RunRow): HTMLElement {
    const trans = this.trans;
    const open = () => void this.model.selectRun(run.id);
    const times = [
      run.startedAt && trans.__('started %1', when(run.startedAt)),
      run.finishedAt && trans.__('finished %1', when(run.finishedAt)),
    ];
    return h(
      'li',
      {
        class: `tandem-jobs-item tandem-pipelines-run${selected ? ' tandem-pipelines-selected' : ''}`,
        'data-run': run.id,
        tabindex: 0,
        'aria-selected': String(selected),
        onclick: open,
        onkeydown: (e) => (e as KeyboardEvent).key === 'Enter' && open(),
      },
      h(
        'div',
        { class: 'tandem-jobs-item-name' },
        trans.__('#%1', run.number),
        h('span', { class: `tandem-jobs-chip tandem-jobs-${run.status}` }, run.status),
        h('span', { class: 'tandem-pipelines-trigger' }, run.trigger),
      ),
      h('div', { class: 'tandem-jobs-meta' }, [run.reason, ...times].filter(Boolean).join(' · ')),
      run.error ? h('div', { class: 'tandem-jobs-error tandem-pipelines-run-error' }, run.error) : '',
    );
  }

  private runActions(): HTMLElement {
    const run = this.model.value.run!;
    const trans = this.trans;
    const box = h('div', { class: 'tandem-pipelines-run-actions' });
    if (isActiveRun(run))
      box.append(
        h(
          'button',
          { class: 'jp-mod-styled jp-mod-warn tandem-pipelines-cancel', onclick: () => void this.model.cancel(run.id) },
          trans.__('Cancel'),
        ),
      );
    if (RETRYABLE_RUN.includes(run.status))
      box.append(
        h(
          'button',
          { class: 'jp-mod-styled tandem-pipelines-retry', onclick: () => void this.model.retry(run.id) },
          trans.__('Retry from failed'),
        ),
      );
    return box;
  }
}
