import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { CommandIDs } from '../commands';
import { addSidebarPanel } from '../sidebar';
import type { TandemClient } from '../requests';
import { ITandemClient } from '../tokens';
import { PipelinesApi } from '../pipelines/api';
import { JobsApi } from './api';
import { JobsPanel } from './panel';

const jobsIcon = new LabIcon({
  name: 'tandem:jobs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M4 4h16v4H4zm0 6h10v4H4zm0 6h13v4H4zm14-6h2v4h-2z"/></svg>',
});

/** The Jobs panel in the left sidebar, opened by `CommandIDs.openJobs` (optionally with `{ id }`). */
export const jobsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:jobs',
  description: 'Jobs panel: Spark and GPU jobs with live state, logs, cancel and retry; pipelines with their runs and steps.',
  autoStart: true,
  requires: [ITandemClient],
  optional: [ICommandPalette, ITranslator],
  activate: (app: JupyterFrontEnd, client: TandemClient, palette: ICommandPalette | null, translator: ITranslator | null) => {
    translator ??= nullTranslator;
    const trans = translator.load('tandem');
    const openModel = (name: string) => void app.commands.execute(CommandIDs.openModels, { name });
    const panel = new JobsPanel(new JobsApi(client), openModel, translator, new PipelinesApi(client));
    addSidebarPanel(app, palette, trans, {
      panel,
      icon: jobsIcon,
      rank: 610,
      command: CommandIDs.openJobs,
      label: trans.__('Jobs'),
      caption: trans.__('Show Tandem Spark and GPU jobs'),
      open: (jobs, args) => {
        if (typeof args.id === 'string') jobs.open(args.id);
      },
    });
  },
};
