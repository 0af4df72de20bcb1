import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Menu } from '@lumino/widgets';
import { CommandIDs } from '../commands';
import type { TandemClient } from '../requests';
import { ITandemClient } from '../tokens';
import { KernelIdentities } from './kernels';
import { SignInModel } from './sign-in';
import { SignInStatus } from './status';

/**
 * JupyterLab acts as the person signed in to Tandem: a status bar item says who, commands sign in
 * (a popup to the Tandem sign-in page, or single-person mode's key) and out, and the person's
 * Tandem kernels get a token of their own session. With a token in settings or page config
 * (token mode) the item only names the token's user.
 */
export const identityPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:identity',
  description: 'Signs the person in to Tandem; their panels and kernels act as them.',
  autoStart: true,
  requires: [ITandemClient],
  optional: [IStatusBar, INotebookTracker, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: TandemClient,
    statusBar: IStatusBar | null,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
  ) => {
    const trans = (translator ?? nullTranslator).load('tandem');
    const model = new SignInModel(client);
    const sessionMode = () => client.mode === 'session';
    const fail = (title: string) => (error: unknown) => void showErrorMessage(title, (error as Error).message ?? String(error));

    app.commands.addCommand(CommandIDs.signIn, {
      label: trans.__('Sign in to Tandem'),
      caption: trans.__('Sign in to the Tandem server: panels and kernels then act as you'),
      isEnabled: () => sessionMode() && (model.status === 'signed-out' || model.status === 'unknown'),
      execute: () => model.signIn().catch(fail(trans.__('Sign in to Tandem'))),
    });
    app.commands.addCommand(CommandIDs.signOut, {
      label: () => (model.user ? trans.__('Sign out of Tandem (%1)', model.user.name) : trans.__('Sign out of Tandem')),
      caption: trans.__('End the Tandem session; your kernels stop acting as you'),
      isEnabled: () => sessionMode() && model.status === 'signed-in',
      execute: () => model.signOut().catch(fail(trans.__('Sign out of Tandem'))),
    });
    app.commands.addCommand(CommandIDs.openAdmin, {
      label: trans.__('Tandem Admin'),
      caption: trans.__('Users, teams, API tokens and the audit log (opens in a new tab)'),
      isVisible: () => !!model.user?.isAdmin,
      // The admin page signs in by the session cookie: in token mode it asks for a sign-in itself.
      execute: () => void window.open(`${client.url}/tandem/admin`, '_blank', 'noopener'),
    });
    model.changed.connect(() => app.commands.notifyCommandChanged());
    for (const command of [CommandIDs.signIn, CommandIDs.signOut, CommandIDs.openAdmin]) {
      palette?.addItem({ command, category: trans.__('Tandem') });
    }

    if (statusBar) {
      const menu = new Menu({ commands: app.commands });
      menu.addItem({ command: CommandIDs.openAdmin });
      menu.addItem({ command: CommandIDs.signOut });
      const item = new SignInStatus(model, trans, (event) => {
        if (model.status === 'signed-in') {
          menu.open(event.clientX, event.clientY);
        } else void app.commands.execute(CommandIDs.signIn);
      });
      statusBar.registerStatusItem(identityPlugin.id, { item, align: 'left', rank: 100 });
    }

    if (notebooks) {
      const kernels = new KernelIdentities(client);
      notebooks.forEach((panel) => kernels.follow(panel.sessionContext));
      notebooks.widgetAdded.connect((_, panel) => kernels.follow(panel.sessionContext));
    }

    model.start().catch((error: unknown) => console.warn('Tandem: could not tell who is signed in', error));
  },
};
