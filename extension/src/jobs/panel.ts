import { Panel, Widget } from '@lumino/widgets';
import { h } from '../dom';
import type { Job, JobsApi } from './api';
import { JobView, progressBar } from './job-view';

const REFRESH_MS = 2000;

/** Left-sidebar Jobs panel: filter the jobs you can see, follow one, cancel or retry it. */
export class JobsPanel extends Panel {
  private readonly list = new Widget({ node: h('div', { class: 'tandem-jobs-list' }) });
  private readonly results = h('ul', { class: 'tandem-jobs-results' });
  private readonly status = h('div', { class: 'tandem-jobs-status', role: 'status' });
  private readonly query = h('input', { type: 'search', placeholder: 'Search jobs', 'aria-label': 'search jobs' });
  private readonly state = h(
    'select',
    { 'aria-label': 'status' },
    ...['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => h('option', { value: s }, s || 'Any status')),
  );
  private readonly kind = h(
    'select',
    { 'aria-label': 'kind' },
    ...['', 'spark', 'gpu'].map((k) => h('option', { value: k }, k || 'Any kind')),
  );
  private view?: JobView;
  private readonly timer: number;

  constructor(
    private readonly api: JobsApi,
    private readonly openModel: (name: string) => void,
  ) {
    super();
    this.id = 'tandem-jobs';
    this.title.caption = 'Jobs';
    this.addClass('tandem-jobs-panel');
    for (const control of [this.query, this.state, this.kind])
      control.addEventListener(control === this.query ? 'input' : 'change', () => void this.refresh());
    this.list.node.append(h('div', { class: 'tandem-jobs-controls' }, this.query, this.state, this.kind), this.status, this.results);
    this.addWidget(this.list);
    // Polling while visible is enough for a list; an open job follows its events live.
    this.timer = window.setInterval(() => {
      if (this.isVisible && !this.view) void this.refresh();
    }, REFRESH_MS);
    void this.refresh();
  }

  override dispose(): void {
    window.clearInterval(this.timer);
    super.dispose();
  }

  async refresh(): Promise<void> {
    try {
      const { jobs, total } = await this.api.list({ q: this.query.value.trim(), status: this.state.value, kind: this.kind.value });
      this.results.replaceChildren(...jobs.map((j) => this.item(j)));
      this.status.textContent =
        total === 0 ? 'No jobs. Start one from a cell with spark.train() or gpu.submit().' : `${total} job${total === 1 ? '' : 's'}`;
      this.status.classList.remove('tandem-jobs-error');
    } catch (e) {
      this.status.textContent = (e as Error).message;
      this.status.classList.add('tandem-jobs-error');
    }
  }

  open(id: string): void {
    this.view?.dispose();
    this.view = new JobView(
      this.api,
      id,
      () => this.backToList(),
      this.openModel,
      (next) => this.open(next),
    );
    this.list.hide();
    this.addWidget(this.view);
  }

  private backToList(): void {
    this.view?.dispose();
    this.view = undefined;
    this.list.show();
    void this.refresh();
  }

  private item(job: Job): HTMLElement {
    const open = () => this.open(job.id);
    return h(
      'li',
      {
        class: 'tandem-jobs-item',
        'data-job': job.id,
        tabindex: 0,
        onclick: open,
        onkeydown: (e) => (e as KeyboardEvent).key === 'Enter' && open(),
      },
      h(
        'div',
        { class: 'tandem-jobs-item-name' },
        job.name,
        h('span', { class: `tandem-jobs-chip tandem-jobs-${job.status}` }, job.status),
      ),
      progressBar(job),
      h(
        'div',
        { class: 'tandem-jobs-meta' },
        `${job.kind} · ${new Date(job.createdAt).toLocaleString()}${job.result?.model ? ` · ${job.result.model} v${job.result.version}` : ''}`,
      ),
    );
  }
}
