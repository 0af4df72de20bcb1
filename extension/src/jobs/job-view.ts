import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { formatFact } from '@tandem/server/api';
import { formatNumber, h, KeyedRows } from '../dom';
import { FINAL, type Job, type JobsApi } from './api';
import { JobModel } from './jobs-model';

const MAX_LOG_LINES = 5000;

/** A progress bar that shows the job's state by colour. */
export function progressBar(job: Job): HTMLElement {
  const pct = Math.round((job.status === 'succeeded' ? 1 : (job.progress ?? 0)) * 100);
  return h(
    'div',
    {
      class: `tandem-jobs-progress tandem-jobs-${job.status}`,
      role: 'progressbar',
      'aria-valuenow': pct,
      'aria-valuemin': 0,
      'aria-valuemax': 100,
    },
    h('div', { class: 'tandem-jobs-progress-fill', style: `width:${pct}%` }),
  );
}

/** A part of the view, rebuilt only when what it shows (`data`) changed. */
interface Part {
  key: string;
  data: unknown;
}

/**
 * One job in detail: state, progress, metrics, the registered model, and its log following live.
 * Cancel and retry act on it. The state is a JobModel; an update rebuilds only the parts that
 * changed (so the Cancel button keeps focus while progress moves), and log lines are appended.
 */
export class JobView extends Widget {
  readonly model: JobModel;
  private readonly trans: TranslationBundle;
  private readonly header = new KeyedRows<Part>(
    h('div', { class: 'tandem-jobs-detail-header' }),
    (part) => part.key,
    (part) => this.headerPart(part.key),
  );
  private readonly summary = new KeyedRows<Part>(
    h('div', { class: 'tandem-jobs-detail-summary' }),
    (part) => part.key,
    (part) => this.summaryPart(part.key),
  );
  private readonly message = h('div', { class: 'tandem-jobs-detail-message' });
  private readonly log: HTMLPreElement;
  private lines = 0;

  constructor(
    api: JobsApi,
    readonly jobId: string,
    private readonly back: () => void,
    private readonly openModel: (name: string) => void,
    private readonly opened: (id: string) => void,
    translator: ITranslator = nullTranslator,
  ) {
    super({ node: h('div', { class: 'tandem-jobs-detail' }) });
    const trans = (this.trans = translator.load('tandem'));
    this.log = h('pre', { class: 'tandem-jobs-log', 'aria-label': trans.__('job log') });
    this.node.append(
      h('button', { class: 'tandem-jobs-back', onclick: () => this.back() }, trans.__('← All jobs')),
      this.header.node,
      this.summary.node,
      this.message,
      h('details', { class: 'tandem-jobs-log-box', open: true }, h('summary', {}, trans.__('Logs')), this.log),
    );
    this.model = new JobModel(api, jobId);
    this.model.stateChanged.connect(this.render, this);
    this.model.logged.connect((_, lines) => this.append(lines));
  }

  override dispose(): void {
    this.model.dispose();
    super.dispose();
  }

  private append(text: string[]): void {
    const atBottom = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    this.lines += text.length;
    this.log.append(`${text.join('\n')}\n`);
    // Keep the DOM bounded for chatty jobs: drop the oldest text nodes.
    while (this.lines > MAX_LOG_LINES && this.log.firstChild) {
      this.lines -= (this.log.firstChild.textContent ?? '').split('\n').length - 1;
      this.log.firstChild.remove();
    }
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  private render(): void {
    this.message.textContent = this.model.message;
    const job = this.model.job;
    if (!job) return;
    this.header.update([
      { key: 'name', data: job.name },
      { key: 'status', data: job.status },
      { key: 'meta', data: [job.kind, job.attempt, job.maxAttempts] },
      { key: 'progress', data: [job.status, job.progress] },
      { key: 'action', data: [FINAL.includes(job.status), job.cancelRequested] },
    ]);
    const parts: Part[] = job.error ? [{ key: 'error', data: job.error }] : [];
    for (const [name, value] of Object.entries(job.metrics)) parts.push({ key: `metric:${name}`, data: value });
    // Facts about the run (row counts): text beside the metrics, not metrics themselves.
    for (const [name, value] of Object.entries(job.info)) parts.push({ key: `info:${name}`, data: value });
    if (job.result?.model) parts.push({ key: 'model', data: [job.result.model, job.result.version] });
    this.summary.update(parts);
  }

  private headerPart(key: string): HTMLElement {
    const job = this.model.job!;
    const trans = this.trans;
    switch (key) {
      case 'name':
        return h('div', { class: 'tandem-jobs-detail-name' }, job.name);
      case 'status':
        return h('span', { class: `tandem-jobs-chip tandem-jobs-${job.status}` }, job.status);
      case 'meta':
        return h('span', { class: 'tandem-jobs-meta' }, trans.__('%1 · attempt %2/%3', job.kind, job.attempt, job.maxAttempts));
      case 'progress':
        return progressBar(job);
      default:
        return FINAL.includes(job.status)
          ? h(
              'button',
              {
                class: 'tandem-jobs-retry',
                onclick: () => void this.model.retry().then((id) => id && this.opened(id)),
              },
              trans.__('Retry'),
            )
          : h(
              'button',
              { class: 'tandem-jobs-cancel', disabled: job.cancelRequested, onclick: () => void this.model.cancel() },
              job.cancelRequested ? trans.__('Cancelling…') : trans.__('Cancel'),
            );
    }
  }

  private summaryPart(key: string): HTMLElement {
    const job = this.model.job!;
    if (key === 'error') return h('pre', { class: 'tandem-jobs-error' }, job.error ?? '');
    if (key.startsWith('metric:')) {
      const name = key.slice('metric:'.length);
      return h('span', { class: 'tandem-jobs-metric' }, `${name} ${formatNumber(job.metrics[name]!)}`);
    }
    if (key.startsWith('info:')) {
      const name = key.slice('info:'.length);
      return h('span', { class: 'tandem-jobs-info' }, formatFact(name, job.info[name]!));
    }
    const model = job.result!.model!;
    return h(
      'a',
      { class: 'tandem-jobs-model', href: '#', onclick: (e) => (e.preventDefault(), this.openModel(model)) },
      this.trans.__('Model %1 v%2', model, String(job.result?.version)),
    );
  }
}
