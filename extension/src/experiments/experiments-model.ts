// The state behind the Experiments panel's list, without the DOM: the experiments the search box
// asks for, one page at a time. The view (panel.ts) renders it and updates on `stateChanged`.
import { PagedState } from './paged-state';
import type { ExperimentPage, ExperimentsApi } from './api';

const EXPERIMENTS_PAGE_SIZE = 50;

/** A text as a quoted filter value: a doubled quote stands for itself. */
export const quote = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** The experiments whose name contains `search`, recently updated first. */
export class ExperimentsListModel extends PagedState<ExperimentPage> {
  private search_ = '';

  constructor(private readonly api: Pick<ExperimentsApi, 'searchExperiments'>) {
    super({ items: [], total: 0 });
  }

  get search(): string {
    return this.search_;
  }

  /** A new search starts at the first page. */
  setSearch(text: string): Promise<void> {
    if (text.trim() !== this.search_) this.pager.reset();
    this.search_ = text.trim();
    return this.refresh();
  }

  protected fetch(): Promise<ExperimentPage> {
    // LIKE's own wildcards typed in the box match as wildcards, which is what a search box does anyway.
    const filter = this.search_ ? `name ILIKE ${quote(`%${this.search_}%`)}` : undefined;
    return this.api.searchExperiments({ filter, limit: EXPERIMENTS_PAGE_SIZE, pageToken: this.pager.token });
  }
}
