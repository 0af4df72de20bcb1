// What the Publish dialog shows of a notebook's cells, without the DOM: how each is named, which
// are chosen at first, which can never be shown, and the title the notebook suggests.
import type { CellChoice } from './api';

/** A cell as `INotebookModel.toJSON()` gives it. */
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: { output_type?: string; text?: string | string[]; data?: Record<string, unknown> }[];
}

export interface CellRow {
  index: number;
  kind: 'code' | 'markdown' | 'raw';
  /** As JupyterLab's prompt names it: `[3]` for a code cell run third, `[ ]` for one never run, `md` for markdown. */
  label: string;
  /** The first line of the source. */
  preview: string;
  /**
   * The cell publishes the dashboard (it calls `dashboards.publish`) or shows the answer of a
   * publish ("Published version 2: …"): a note to the author, never content for viewers.
   */
  publishes: boolean;
  /** Chosen when the dialog opens: markdown with text and code with outputs, unless it publishes. */
  chosen: boolean;
}

const text = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join('') : (value ?? ''));

const PUBLISH_CALL = /\bdashboards\s*\.\s*publish\s*\(/;
const PUBLISHED_MESSAGE = /^\s*Published version\b/;

function outputTexts(cell: NotebookCell): string[] {
  return (cell.outputs ?? []).flatMap((out) => [
    text(out.text),
    ...['text/markdown', 'text/plain'].map((mime) => {
      const value = out.data?.[mime];
      return typeof value === 'string' || Array.isArray(value) ? text(value as string | string[]) : '';
    }),
  ]);
}

/** The rows of the dialog's cell list, in notebook order. */
export function describeCells(cells: NotebookCell[]): CellRow[] {
  return cells.map((cell, index) => {
    const kind = cell.cell_type === 'code' || cell.cell_type === 'markdown' ? cell.cell_type : 'raw';
    const source = text(cell.source);
    const publishes = kind === 'code' && (PUBLISH_CALL.test(source) || outputTexts(cell).some((t) => PUBLISHED_MESSAGE.test(t)));
    const first = source.trim().split('\n')[0] ?? '';
    return {
      index,
      kind,
      label: kind === 'code' ? `[${cell.execution_count ?? ' '}]` : kind === 'markdown' ? 'md' : 'raw',
      preview: first.length > 80 ? `${first.slice(0, 80)}…` : first,
      publishes,
      chosen: !publishes && (kind === 'markdown' ? source.trim() !== '' : kind === 'code' && (cell.outputs?.length ?? 0) > 0),
    };
  });
}

/** The cells to send: those ticked, never one that publishes (whatever its ticks say). */
export function selectionOf(ticks: { cell: CellRow; show: boolean; code: boolean }[]): CellChoice[] {
  return ticks
    .filter(({ cell, show }) => show && !cell.publishes)
    .map(({ cell, code }) => ({ index: cell.index, code: cell.kind === 'code' && code, outputs: true }));
}

/** The notebook's first markdown heading (`# Title` or a `===`/`---` underlined line) as plain text. */
export function firstHeading(cells: NotebookCell[]): string | undefined {
  for (const cell of cells) {
    if (cell.cell_type !== 'markdown') continue;
    const lines = text(cell.source).split('\n');
    for (const [i, line] of lines.entries()) {
      const atx = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
      const setext = line.trim() && /^ {0,3}(=+|-+)\s*$/.test(lines[i + 1] ?? '') ? line : undefined;
      const heading = plain(atx ?? setext ?? '');
      if (heading) return heading;
    }
  }
  return undefined;
}

/** Markdown emphasis, code and links reduced to their text (underscores stay: they are common in names). */
function plain(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|\*|`)(.+?)\1/g, '$2')
    .trim();
}
