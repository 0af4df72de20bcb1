import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ILauncher } from '@jupyterlab/launcher';
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
  activate: (app: JupyterFrontEnd, launcher: ILauncher) => {
    void app.restored.then(() => {
      PANEL_COMMANDS.filter((command) => app.commands.hasCommand(command)).forEach((command, rank) =>
        launcher.add({ command, category: 'Tandem', rank }),
      );
    });
  },
};
