import { YNotebook } from '@jupyter/ydoc';
import type { INotebookContent } from '@jupyterlab/nbformat';
import * as Y from 'yjs';
import { z } from 'zod';

/**
 * Conversions between .ipynb JSON and Yjs state in @jupyter/ydoc's YNotebook layout, which is
 * what JupyterLab's notebook model binds to. `new YNotebook()` writes nothing until told to, so
 * every update produced here contains only the intended change.
 */

const multiline = z.union([z.string(), z.array(z.string())]).transform((s) => (Array.isArray(s) ? s.join('') : s));
const cell = z
  .object({
    cell_type: z.enum(['code', 'markdown', 'raw']),
    id: z.string().max(64).optional(),
    source: multiline,
    metadata: z.record(z.string(), z.unknown()).default({}),
    outputs: z.array(z.record(z.string(), z.unknown())).optional(),
    execution_count: z.number().int().nullable().optional(),
    attachments: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

/** An .ipynb file (nbformat 4); validation names the offending cell and field. */
export const ipynbSchema = z.object({
  nbformat: z.literal(4, 'only nbformat 4 notebooks are supported'),
  nbformat_minor: z.number().int().min(0),
  metadata: z.record(z.string(), z.unknown()).default({}),
  cells: z.array(cell).max(10_000, 'at most 10000 cells'),
});

export type Ipynb = z.output<typeof ipynbSchema>;

/** A new shared notebook: one empty code cell on the TypeScript (Tandem) kernel. */
export const EMPTY_NOTEBOOK: Ipynb = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)', language: 'typescript' },
    language_info: { name: 'typescript' },
  },
  cells: [{ cell_type: 'code', source: '', metadata: {}, outputs: [], execution_count: null }],
};

/** Initial Yjs state for a notebook with this content. */
export function stateFromIpynb(content: Ipynb): Uint8Array {
  const notebook = new YNotebook();
  try {
    withoutPrematureAccessWarnings(() => notebook.fromJSON(normalise(content)));
    return Y.encodeStateAsUpdate(notebook.ydoc);
  } finally {
    notebook.dispose();
  }
}

/** The notebook a Yjs state describes, as .ipynb JSON. */
export function ipynbFromState(state: Uint8Array): INotebookContent {
  const notebook = new YNotebook();
  try {
    Y.applyUpdate(notebook.ydoc, state);
    return notebook.toJSON();
  } finally {
    notebook.dispose();
  }
}

/**
 * The update that turns a document whose state is `current` into `target`'s content. It is a
 * forward edit (delete the cells, insert the target's), so connected clients converge on it.
 */
export function restoreUpdate(current: Uint8Array, target: Uint8Array): Uint8Array {
  const notebook = new YNotebook();
  try {
    Y.applyUpdate(notebook.ydoc, current);
    const before = Y.encodeStateVector(notebook.ydoc);
    withoutPrematureAccessWarnings(() => notebook.fromJSON(ipynbFromState(target)));
    return Y.encodeStateAsUpdate(notebook.ydoc, before);
  } finally {
    notebook.dispose();
  }
}

/**
 * @jupyter/ydoc fills each new cell before inserting it into the document, which yjs (13.6.20 on)
 * reports with a console warning per field; the content comes out right, so on the server the
 * warnings are only noise (hundreds of lines for one imported notebook).
 */
function withoutPrematureAccessWarnings(fn: () => void): void {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!args.some((a) => String(a).includes('Invalid access: Add Yjs type'))) warn(...args);
  };
  try {
    fn();
  } finally {
    console.warn = warn;
  }
}

function normalise(content: Ipynb): INotebookContent {
  return {
    ...content,
    // ydoc keeps cell ids only from nbformat 4.5 on; older files get fresh ids when upgraded.
    nbformat_minor: Math.max(content.nbformat_minor, 5),
    cells: content.cells.map((c) => ({ ...c, metadata: c.metadata ?? {} })),
  } as INotebookContent;
}
