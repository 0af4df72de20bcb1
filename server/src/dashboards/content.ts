import { z } from 'zod';
import type { CellChoice, TableMimeType } from '../api/index.js';
import { TandemError } from '../errors.js';

/** The kernel's table display (`@tandem/kernel` TABLE_MIME): a bounded preview with schema and row count. */
export const TABLE_MIME: TableMimeType = 'application/vnd.tandem.table+json';
/** How a failed cell shows on a dashboard: the exception name and message, never a traceback with code. */
export const ERROR_MIME = 'application/vnd.tandem.error+json';

/** The output types a dashboard shows, best first: a cell's richest supported representation wins. */
const PREFERRED = [TABLE_MIME, 'image/svg+xml', 'image/png', 'image/jpeg', 'text/html', 'text/markdown', 'text/plain'] as const;

export type Block = { kind: 'markdown'; text: string } | { kind: 'code'; text: string } | { kind: 'output'; mime: string; data: unknown };

/** What a published version stores: only what viewers see. */
export interface DashboardContent {
  blocks: Block[];
}

const text = z.union([z.string(), z.array(z.string())]).transform((t) => (Array.isArray(t) ? t.join('') : t));
const output = z.looseObject({
  output_type: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  text: text.optional(),
  name: z.string().optional(),
  ename: z.string().optional(),
  evalue: z.string().optional(),
});
const cell = z.looseObject({ cell_type: z.string(), source: text.default(''), outputs: z.array(output).optional() });

/** An nbformat 4 notebook, as much of it as publishing reads. */
export const notebookSchema = z.looseObject({ cells: z.array(cell).max(10_000), metadata: z.record(z.string(), z.unknown()).optional() });
export type Notebook = z.input<typeof notebookSchema>;

/** Which cells a dashboard shows; code is hidden unless `code` is set. */
export const cellChoice = z.object({
  index: z.number().int().min(0),
  code: z.boolean().default(false),
  outputs: z.boolean().default(true),
}) satisfies z.ZodType<unknown, CellChoice>;
export type { CellChoice } from '../api/index.js';

type Output = z.output<typeof output>;

/**
 * Turns a notebook and a choice of cells into dashboard content. Without a choice, every markdown
 * cell and every code output shows (code hidden). Choices naming missing cells are rejected so a
 * refresh of an edited notebook fails visibly instead of showing the wrong cells.
 */
export function extractContent(notebook: Notebook, choices?: CellChoice[]): DashboardContent {
  const cells = notebookSchema.parse(notebook).cells;
  const picked = choices ? choices.map((c) => cellChoice.parse(c)) : cells.map((_, index) => ({ index, code: false, outputs: true }));
  const blocks: Block[] = [];
  for (const choice of picked) {
    const source = cells[choice.index];
    if (!source)
      throw new TandemError('INVALID_ARGUMENT', `selection: cell ${choice.index} does not exist (the notebook has ${cells.length} cells)`);
    if (source.cell_type === 'markdown') {
      if (source.source.trim()) blocks.push({ kind: 'markdown', text: source.source });
      continue;
    }
    if (source.cell_type !== 'code') continue;
    if (choice.code && source.source.trim()) blocks.push({ kind: 'code', text: source.source });
    if (choice.outputs)
      for (const out of mergeStreams(source.outputs ?? [])) {
        const block = outputBlock(out);
        if (block) blocks.push(block);
      }
  }
  return { blocks };
}

function outputBlock(out: Output): Block | undefined {
  if (out.output_type === 'stream')
    return out.name === 'stderr' || !out.text ? undefined : { kind: 'output', mime: 'text/plain', data: out.text };
  if (out.output_type === 'error')
    return { kind: 'output', mime: ERROR_MIME, data: { name: out.ename ?? 'Error', message: out.evalue ?? '' } };
  const data = out.data ?? {};
  const mime = PREFERRED.find((m) => data[m] !== undefined);
  if (!mime) return undefined;
  const value = data[mime];
  return { kind: 'output', mime, data: Array.isArray(value) ? value.join('') : value };
}

/** Consecutive stdout chunks read as one block, as in the notebook. */
function mergeStreams(outputs: Output[]): Output[] {
  const merged: Output[] = [];
  for (const out of outputs) {
    const last = merged.at(-1);
    if (out.output_type === 'stream' && last?.output_type === 'stream' && last.name === out.name) {
      merged[merged.length - 1] = { ...last, text: (last.text ?? '') + (out.text ?? '') };
    } else merged.push(out);
  }
  return merged;
}
