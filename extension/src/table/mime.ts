import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { TABLE_MIME } from './table-model';
import { TableWidget } from './table-widget';

/**
 * Shows Arrow/arquero results from the Tandem kernel as a paged, sortable table: a mime extension
 * (package.json `jupyterlab.mimeExtension`), which JupyterLab adds to every rendermime registry.
 * Safe: the table only ever sets text, so it also renders in untrusted notebooks. Rank 0 puts it
 * ahead of the text/html and text/plain fallbacks the kernel sends alongside.
 */
const extension: IRenderMime.IExtension = {
  id: '@tandem/extension:table',
  description: `Renders ${TABLE_MIME} outputs: column types, row count, sorting, paging and column summaries.`,
  rendererFactory: {
    safe: true,
    mimeTypes: [TABLE_MIME],
    defaultRank: 0,
    createRenderer: (options) => new TableWidget(options),
  },
  dataType: 'json',
};

export default extension;
