// The interactive table for Tandem kernel results: one page of the preview in the DOM at a time
// (so a million-row result costs no more than 25 rows of markup), sortable headers showing
// column types, a pager, and a column summary panel.
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { h } from '../dom';
import {
  describeColumn,
  describeTable,
  formatCell,
  isNumericType,
  nextSort,
  pageOf,
  parsePayload,
  sortedOrder,
  TABLE_MIME,
  type SortState,
  type TablePayload,
} from './table-model';

const PAGE_SIZES = [10, 25, 50, 100];

export class TableWidget extends Widget implements IRenderMime.IRenderer {
  private readonly trans: TranslationBundle;
  private payload: TablePayload | undefined;
  private sort: SortState | undefined;
  private order: number[] = [];
  private page = 0;
  private pageSize = 25;
  private showSummary = false;

  constructor(options: Partial<IRenderMime.IRendererOptions> = {}) {
    super();
    this.trans = (options.translator ?? nullTranslator).load('tandem');
    this.addClass('tandem-table');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    try {
      this.payload = parsePayload(model.data[TABLE_MIME]);
    } catch (err) {
      this.payload = undefined;
      this.node.replaceChildren(h('div', { class: 'tandem-table-error' }, (err as Error).message));
      return;
    }
    // A display updated in place (e.g. a re-run) starts from the kernel's order again.
    this.sort = undefined;
    this.page = 0;
    this.order = sortedOrder(this.payload.rows, undefined, this.payload.columns);
    this.draw();
  }

  private setSort(column: number): void {
    const p = this.payload!;
    this.sort = nextSort(this.sort, column);
    this.order = sortedOrder(p.rows, this.sort, p.columns);
    this.page = 0;
    this.draw();
  }

  private goTo(page: number): void {
    this.page = page;
    this.draw();
  }

  private draw(): void {
    const p = this.payload!;
    const page = pageOf(p.rows, this.order, this.page, this.pageSize);
    this.page = page.index;
    this.node.replaceChildren(
      this.header(p),
      this.showSummary ? this.summary(p) : '',
      h('div', { class: 'tandem-table-scroll' }, h('table', {}, this.head(p), this.body(p, page.rows))),
      this.pager(p, page),
    );
  }

  private header(p: TablePayload): HTMLElement {
    const trans = this.trans;
    const sortedColumn = this.sort && p.columns[this.sort.column].name;
    return h(
      'div',
      { class: 'tandem-table-header' },
      h('span', { class: 'tandem-table-size' }, describeTable(p, trans)),
      sortedColumn && p.rows.length < p.rowCount
        ? h('span', { class: 'tandem-table-note' }, trans.__('sorted by %1 within the preview', sortedColumn))
        : '',
      h(
        'button',
        {
          class: 'tandem-table-summary-toggle jp-mod-styled',
          'aria-pressed': String(this.showSummary),
          onclick: () => {
            this.showSummary = !this.showSummary;
            this.draw();
          },
        },
        this.showSummary ? trans.__('Hide column summary') : trans.__('Column summary'),
      ),
    );
  }

  /** Column statistics computed by the kernel over the whole result, not just the preview. */
  private summary(p: TablePayload): HTMLElement {
    const trans = this.trans;
    return h(
      'table',
      { class: 'tandem-table-summary' },
      h(
        'thead',
        {},
        h('tr', {}, ...[trans.__('column'), trans.__('type'), trans.__('statistics (whole result)')].map((t) => h('th', {}, t))),
      ),
      h('tbody', {}, ...p.columns.map((c) => h('tr', {}, h('td', {}, c.name), h('td', {}, c.type), h('td', {}, describeColumn(c, trans))))),
    );
  }

  private head(p: TablePayload): HTMLElement {
    const cells = p.columns.map((c, i) => {
      const direction = this.sort?.column === i ? this.sort.direction : undefined;
      return h(
        'th',
        {
          'aria-sort': direction ?? 'none',
          class: isNumericType(c.type) ? 'tandem-table-numeric' : undefined,
          title: `${c.name}: ${c.type}\n${describeColumn(c, this.trans)}`,
        },
        h(
          'button',
          { class: 'tandem-table-sort', onclick: () => this.setSort(i) },
          h('span', { class: 'tandem-table-name' }, c.name),
          h('span', { class: 'tandem-table-arrow' }, direction === 'ascending' ? '▲' : direction === 'descending' ? '▼' : ''),
        ),
        h('span', { class: 'tandem-table-type' }, c.type),
      );
    });
    return h('thead', {}, h('tr', {}, ...cells));
  }

  private body(p: TablePayload, rows: unknown[][]): HTMLElement {
    const numeric = p.columns.map((c) => isNumericType(c.type));
    return h(
      'tbody',
      {},
      ...rows.map((row) =>
        h(
          'tr',
          {},
          ...row.map((value, i) => {
            const text = formatCell(value, p.columns[i].type);
            const classes = [numeric[i] && 'tandem-table-numeric', value == null && 'tandem-table-null'].filter(Boolean).join(' ');
            return h(
              'td',
              {
                class: classes || undefined,
                title: value == null ? undefined : String(typeof value === 'object' ? JSON.stringify(value) : value),
              },
              text,
            );
          }),
        ),
      ),
    );
  }

  private pager(p: TablePayload, page: ReturnType<typeof pageOf>): HTMLElement {
    const trans = this.trans;
    const button = (label: string, title: string, target: number, disabled: boolean) =>
      h(
        'button',
        { class: 'tandem-table-page jp-mod-styled', title, 'aria-label': title, disabled, onclick: () => this.goTo(target) },
        label,
      );
    const size = h(
      'select',
      {
        class: 'tandem-table-page-size',
        'aria-label': trans.__('Rows per page'),
        onchange: (e) => {
          this.pageSize = Number((e.target as HTMLSelectElement).value);
          this.page = 0;
          this.draw();
        },
      },
      ...PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === this.pageSize }, trans.__('%1 / page', n))),
    );
    const n = (x: number) => x.toLocaleString('en-US');
    const range = page.first ? trans.__('rows %1–%2 of %3', n(page.first), n(page.last), n(p.rows.length)) : trans.__('no rows');
    return h(
      'div',
      { class: 'tandem-table-pager' },
      button('«', trans.__('First page'), 0, page.index === 0),
      button('‹', trans.__('Previous page'), page.index - 1, page.index === 0),
      h('span', { class: 'tandem-table-range' }, trans.__('%1 · page %2 of %3', range, page.index + 1, page.count)),
      button('›', trans.__('Next page'), page.index + 1, page.index >= page.count - 1),
      button('»', trans.__('Last page'), page.count - 1, page.index >= page.count - 1),
      size,
    );
  }
}
