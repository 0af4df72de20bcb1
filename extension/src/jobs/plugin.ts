import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';
import { CommandIDs } from '../commands';
import { ITandemClient } from '../tokens';
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
  description: 'Jobs panel: Spark and GPU jobs with live state, logs, cancel and retry.',
  autoStart: true,
  requires: [ITandemClient],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, client, palette: ICommandPalette | null) => {
    const panel = new JobsPanel(new JobsApi(client), (name) => void app.commands.execute(CommandIDs.openModels, { name }));
    panel.title.icon = jobsIcon;
    app.shell.add(panel, 'left', { rank: 610 });
    app.commands.addCommand(CommandIDs.openJobs, {
      label: 'Jobs',
      caption: 'Show Tandem Spark and GPU jobs',
      icon: jobsIcon,
      execute: (args) => {
        app.shell.activateById(panel.id);
        if (typeof args.id === 'string') panel.open(args.id);
      },
    });
    palette?.addItem({ command: CommandIDs.openJobs, category: 'Tandem' });
  },
};
