import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { CommandIDs } from '../commands';
import { addSidebarPanel } from '../sidebar';
import type { TandemClient } from '../requests';
import { ITandemClient } from '../tokens';
import { ModelsApi } from './api';
import { ModelsPanel } from './panel';

const modelsIcon = new LabIcon({
  name: 'tandem:models',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M12 2 3 7v10l9 5 9-5V7zm0 2.3 6.5 3.6L12 11.5 5.5 7.9zM5 9.6l6 3.3v6.6l-6-3.3zm8 9.9v-6.6l6-3.3v6.6z"/></svg>',
});

/** The Models panel in the left sidebar, opened by `CommandIDs.openModels`. */
export const modelsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:models',
  description: 'Model registry panel: search, versions, aliases, sharing.',
  autoStart: true,
  requires: [ITandemClient],
  optional: [ICommandPalette, IRenderMimeRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: TandemClient,
    palette: ICommandPalette | null,
    rendermime: IRenderMimeRegistry | null,
    translator: ITranslator | null,
  ) => {
    translator ??= nullTranslator;
    const trans = translator.load('tandem');
    const panel = new ModelsPanel(new ModelsApi(client), rendermime ?? undefined, translator);
    // Until someone signs in, the list shows the sign-in prompt; afterwards it shows their models.
    client.userChanged.connect((_, user) => {
      if (user) void panel.refresh();
    });
    addSidebarPanel(app, palette, trans, {
      panel,
      icon: modelsIcon,
      rank: 600,
      command: CommandIDs.openModels,
      label: trans.__('Models'),
      caption: trans.__('Show the Tandem model registry'),
      open: (models, args) => {
        if (typeof args.name === 'string') models.open(args.name);
      },
    });
  },
};
