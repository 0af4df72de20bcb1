import { PIPELINE_OUTPUT_MIME, type PipelineValue } from '../api/index.js';
import type { Notebook } from '../dashboards/content.js';

type Cell = Notebook['cells'][number];

const tagsOf = (cell: Cell): string[] => {
  const tags = (cell.metadata as { tags?: unknown } | undefined)?.tags;
  return Array.isArray(tags) ? (tags as string[]) : [];
};

/**
 * The notebook with `parameters` set as papermill does: a cell tagged `injected-parameters`
 * right after the one tagged `parameters` (or first, when none is), declaring each value anew
 * (a later cell may redeclare a `const`).
 */
export function injectParameters(notebook: Notebook, parameters: Record<string, PipelineValue>, note: string): Notebook {
  const names = Object.keys(parameters);
  if (names.length === 0) return notebook;
  const cells = [...notebook.cells];
  const source = [`// ${note}`, ...names.map((name) => `const ${name} = ${JSON.stringify(parameters[name])};`)].join('\n');
  const injected: Cell = { cell_type: 'code', metadata: { tags: ['injected-parameters'] }, source, outputs: [], execution_count: null };
  const at = cells.findIndex((c) => c.cell_type === 'code' && tagsOf(c).includes('parameters'));
  cells.splice(at + 1, 0, injected);
  return { ...notebook, cells };
}

/** What the executed notebook handed on with `pipelines.output(…)`; the last value of a name wins. */
export function notebookOutputs(notebook: Notebook): Record<string, PipelineValue> {
  const found: Record<string, PipelineValue> = {};
  for (const cell of notebook.cells) {
    for (const output of cell.outputs ?? []) {
      const value = output.data?.[PIPELINE_OUTPUT_MIME] as { name?: unknown; value?: unknown } | undefined;
      if (typeof value?.name !== 'string') continue;
      const v = value.value;
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) found[value.name] = v as PipelineValue;
    }
  }
  return found;
}
