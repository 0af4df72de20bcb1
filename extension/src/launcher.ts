import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ILauncher } from '@jupyterlab/launcher';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { CommandIDs } from './commands';

/** Panel commands offered in the launcher's "Tandem" section, in this order. */
const PANEL_COMMANDS = [CommandIDs.openModels, CommandIDs.openJobs];

/**
 * A "Tandem" launcher section. Items are added once the app has restored, and only for commands
 * some plugin registered, so a disabled feature never leaves an inert card behind.
 */
export const launcherPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:launcher',
  description: 'Tandem panels in the launcher.',
  autoStart: true,
  requires: [ILauncher],
  optional: [ITranslator],
  activate: (app: JupyterFrontEnd, launcher: ILauncher, translator: ITranslator | null) => {
    const category = (translator ?? nullTranslator).load('tandem').__('Tandem');
    void app.restored.then(() => {
      PANEL_COMMANDS.filter((command) => app.commands.hasCommand(command)).forEach((command, rank) =>
        launcher.add({ command, category, rank }),
      );
    });
  },
};
