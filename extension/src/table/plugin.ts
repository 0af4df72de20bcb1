import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { TABLE_MIME } from './table-model';
import { TableWidget } from './table-widget';

/**
 * Safe: the table only ever sets text, so it also renders in untrusted notebooks. Rank 0 puts it
 * ahead of the text/html and text/plain fallbacks the kernel sends alongside.
 */
const tableRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [TABLE_MIME],
  defaultRank: 0,
  createRenderer: () => new TableWidget(),
};

/** Shows Arrow/arquero results from the Tandem kernel as a paged, sortable table. */
export const tablePlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:table',
  description: `Renders ${TABLE_MIME} outputs: column types, row count, sorting, paging and column summaries.`,
  autoStart: true,
  requires: [IRenderMimeRegistry],
  activate: (_app: JupyterFrontEnd, rendermime: IRenderMimeRegistry) => rendermime.addFactory(tableRendererFactory),
};
