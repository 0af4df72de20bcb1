import { Widget } from '@lumino/widgets';
import { formatNumber, h } from '../dom';
import { FINAL, type Job, type JobEvent, type JobsApi } from './api';

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

/**
 * One job in detail: state, progress, metrics, the registered model, and its log following live
 * (long poll on the event cursor). Cancel and retry act on it.
 */
export class JobView extends Widget {
  private cursor = 0;
  private readonly stop = new AbortController();
  private readonly header = h('div', { class: 'tandem-jobs-detail-header' });
  private readonly summary = h('div', { class: 'tandem-jobs-detail-summary' });
  private readonly message = h('div', { class: 'tandem-jobs-detail-message' });
  private readonly log = h('pre', { class: 'tandem-jobs-log', 'aria-label': 'job log' });
  private lines = 0;

  constructor(
    private readonly api: JobsApi,
    readonly jobId: string,
    private readonly back: () => void,
    private readonly openModel: (name: string) => void,
    private readonly opened: (id: string) => void,
  ) {
    super({ node: h('div', { class: 'tandem-jobs-detail' }) });
    this.node.append(
      h('button', { class: 'tandem-jobs-back', onclick: () => this.back() }, '← All jobs'),
      this.header,
      this.summary,
      this.message,
      h('details', { class: 'tandem-jobs-log-box', open: true }, h('summary', {}, 'Logs'), this.log),
    );
    void this.follow();
  }

  override dispose(): void {
    this.stop.abort();
    super.dispose();
  }

  private async follow(): Promise<void> {
    let waitMs = 0;
    while (!this.stop.signal.aborted) {
      try {
        const { events, job } = await this.api.events(this.jobId, this.cursor, waitMs, this.stop.signal);
        this.absorb(events);
        this.render(job);
        if (FINAL.includes(job.status) && events.length === 0) return;
        waitMs = events.length >= 1000 ? 0 : 10_000;
      } catch (e) {
        if (this.stop.signal.aborted) return;
        this.message.textContent = (e as Error).message;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  private absorb(events: JobEvent[]): void {
    const atBottom = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    const text: string[] = [];
    for (const event of events) {
      this.cursor = event.id;
      if (event.type === 'log') text.push(String(event.data.line));
      else if (event.type === 'state')
        text.push(`── ${String(event.data.status)}${event.data.error ? `: ${String(event.data.error)}` : ''}`);
      else if (event.type === 'progress' && event.data.message) this.message.textContent = String(event.data.message);
    }
    if (text.length === 0) return;
    this.lines += text.length;
    this.log.append(`${text.join('\n')}\n`);
    // Keep the DOM bounded for chatty jobs: drop the oldest text nodes.
    while (this.lines > MAX_LOG_LINES && this.log.firstChild) {
      this.lines -= (this.log.firstChild.textContent ?? '').split('\n').length - 1;
      this.log.firstChild.remove();
    }
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  private render(job: Job): void {
    const actions: HTMLElement[] = [];
    if (!FINAL.includes(job.status)) {
      actions.push(
        h(
          'button',
          { class: 'tandem-jobs-cancel', disabled: job.cancelRequested, onclick: () => void this.act(() => this.api.cancel(job.id)) },
          job.cancelRequested ? 'Cancelling…' : 'Cancel',
        ),
      );
    } else {
      actions.push(
        h(
          'button',
          { class: 'tandem-jobs-retry', onclick: () => void this.act(async () => this.opened((await this.api.retry(job.id)).id)) },
          'Retry',
        ),
      );
    }
    this.header.replaceChildren(
      h('div', { class: 'tandem-jobs-detail-name' }, job.name),
      h('span', { class: `tandem-jobs-chip tandem-jobs-${job.status}` }, job.status),
      h('span', { class: 'tandem-jobs-meta' }, `${job.kind} · attempt ${job.attempt}/${job.maxAttempts}`),
      progressBar(job),
      ...actions,
    );
    const model = job.result?.model;
    this.summary.replaceChildren(
      ...(job.error ? [h('pre', { class: 'tandem-jobs-error' }, job.error)] : []),
      ...Object.entries(job.metrics).map(([k, v]) => h('span', { class: 'tandem-jobs-metric' }, `${k} ${formatNumber(v)}`)),
      ...(model
        ? [
            h(
              'a',
              { class: 'tandem-jobs-model', href: '#', onclick: (e) => (e.preventDefault(), this.openModel(model)) },
              `Model ${model} v${job.result?.version}`,
            ),
          ]
        : []),
    );
  }

  private async act(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.message.textContent = (e as Error).message;
    }
  }
}
