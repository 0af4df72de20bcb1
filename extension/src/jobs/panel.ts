import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';
import { h, KeyedRows } from '../dom';
import type { PipelinesApi } from '../pipelines/api';
import { PipelinesSection } from '../pipelines/section';
import type { Job, JobsApi } from './api';
import { JobView, progressBar } from './job-view';
import { JobsListModel } from './jobs-model';

const REFRESH_MS = 2000;

/**
 * Left-sidebar Jobs panel: filter the jobs you can see, follow one, cancel or retry it. The list's
 * state is a JobsListModel; a refresh updates only the rows whose job changed.
 */
export class JobsPanel extends Panel {
  readonly model: JobsListModel;
  private readonly trans: TranslationBundle;
  private readonly list = new Widget({ node: h('div', { class: 'tandem-jobs-list' }) });
  private readonly rows = new KeyedRows<Job>(
    h('ul', { class: 'tandem-jobs-results' }),
    (job) => job.id,
    (job) => this.item(job),
  );
  private readonly status = h('div', { class: 'tandem-jobs-status', role: 'status' });
  private readonly query: HTMLInputElement;
  private readonly state: HTMLSelectElement;
  private readonly kind: HTMLSelectElement;
  private view?: JobView;
  /** Below the jobs: the pipelines, whose steps' jobs open in the job view. */
  readonly pipelines?: PipelinesSection;
  private readonly timer: number;

  constructor(
    private readonly api: JobsApi,
    private readonly openModel: (name: string) => void,
    private readonly translator: ITranslator = nullTranslator,
    pipelinesApi?: PipelinesApi,
  ) {
    super();
    const trans = (this.trans = translator.load('tandem'));
    this.id = 'tandem-jobs';
    this.title.caption = trans.__('Jobs');
    this.addClass('tandem-jobs-panel');
    this.query = h('input', { type: 'search', placeholder: trans.__('Search jobs'), 'aria-label': trans.__('search jobs') });
    this.state = h(
      'select',
      { 'aria-label': trans.__('status') },
      ...['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => h('option', { value: s }, s || trans.__('Any status'))),
    );
    this.kind = h(
      'select',
      { 'aria-label': trans.__('kind') },
      ...['', 'spark', 'gpu'].map((k) => h('option', { value: k }, k || trans.__('Any kind'))),
    );
    this.model = new JobsListModel(api);
    this.model.stateChanged.connect(this.render, this);
    for (const control of [this.query, this.state, this.kind])
      control.addEventListener(control === this.query ? 'input' : 'change', () => void this.refresh());
    this.list.node.append(h('div', { class: 'tandem-jobs-controls' }, this.query, this.state, this.kind), this.status, this.rows.node);
    this.addWidget(this.list);
    if (pipelinesApi) {
      this.pipelines = new PipelinesSection(pipelinesApi, (jobId) => this.open(jobId), translator);
      this.addWidget(this.pipelines);
    }
    // Polling while visible is enough for a list; an open job follows its events live.
    this.timer = window.setInterval(() => {
      if (this.isVisible && !this.view) void this.refresh();
    }, REFRESH_MS);
    void this.refresh();
  }

  override dispose(): void {
    window.clearInterval(this.timer);
    this.view?.dispose();
    this.pipelines?.dispose();
    this.model.dispose();
    super.dispose();
  }

  /** Lists the jobs with what the controls say now. */
  refresh(): Promise<void> {
    this.model.query = { q: this.query.value, status: this.state.value, kind: this.kind.value };
    return this.model.refresh();
  }

  open(id: string): void {
    this.view?.dispose();
    this.view = new JobView(
      this.api,
      id,
      () => this.backToList(),
      this.openModel,
      (next) => this.open(next),
      this.translator,
    );
    this.list.hide();
    this.pipelines?.hide();
    this.addWidget(this.view);
  }

  private backToList(): void {
    this.view?.dispose();
    this.view = undefined;
    this.list.show();
    this.pipelines?.show();
    void this.refresh();
  }

  private render(): void {
    const { jobs, total } = this.model.value;
    const error = this.model.error;
    this.rows.update(jobs);
    this.status.textContent =
      error ??
      (total === 0
        ? this.trans.__('No jobs. Start one from a cell with spark.train() or gpu.submit().')
        : this.trans._n('%1 job', '%1 jobs', total));
    this.status.classList.toggle('tandem-jobs-error', error !== undefined);
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
