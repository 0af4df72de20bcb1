import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { CommandToolbarButton, ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker, type Notebook, type NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { addIcon, downloadIcon, fileUploadIcon, LabIcon, shareIcon } from '@jupyterlab/ui-components';
import { CommandIDs } from '../commands';
import type { TandemClient } from '../requests';
import { showShareDialog } from '../sharing/share-dialog';
import { ITandemClient, ITandemDrive, type ICollabProvider } from '../tokens';
import { NotebooksApi } from './api';
import { remoteCursors } from './cursors';
import { DRIVE_NAME, TandemDrive } from './drive';
import { CollaboratorsList, colorFor } from './presence';

const sharedIcon = new LabIcon({
  name: 'tandem:shared-notebooks',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8m0 2c-3.3 0-7 1.6-7 4v3h14v-3c0-2.4-3.7-4-7-4m7.5-2a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7m.5 2c-.4 0-.9 0-1.3.1 1.4 1 2.3 2.3 2.3 3.9v3h5v-3c0-2.2-3.4-4-6-4"/></svg>',
});

/** The "Tandem" drive and its file browser: shared notebooks, create/import/share/download. */
export const drivePlugin: JupyterFrontEndPlugin<ITandemDrive> = {
  id: '@tandem/extension:drive',
  description: 'Shared notebooks on the Tandem server, as a drive in the file browser.',
  autoStart: true,
  requires: [ITandemClient, IFileBrowserFactory],
  optional: [ICommandPalette, ITranslator],
  provides: ITandemDrive,
  activate: (
    app: JupyterFrontEnd,
    // The feature APIs (./api.ts) still take the TandemClient class that ITandemClient describes.
    client: TandemClient,
    factory: IFileBrowserFactory,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
  ) => {
    const trans = (translator ?? nullTranslator).load('tandem');
    const api = new NotebooksApi(client);
    const drive = new TandemDrive(api);
    app.serviceManager.contents.addDrive(drive);
    const browser = factory.createFileBrowser('tandem-shared-notebooks', { driveName: DRIVE_NAME, refreshInterval: 10_000 });
    browser.title.icon = sharedIcon;
    browser.title.caption = trans.__('Shared notebooks (Tandem)');
    browser.addClass('tandem-SharedBrowser');
    app.shell.add(browser, 'left', { rank: 102 });

    const selected = () => {
      const item = browser.selectedItems().next();
      return item.done ? undefined : item.value;
    };
    const fail = (title: string) => (error: unknown) => void showErrorMessage(title, (error as Error).message ?? String(error));

    app.commands.addCommand(CommandIDs.newSharedNotebook, {
      label: trans.__('New Shared Notebook'),
      icon: addIcon,
      execute: async () => {
        try {
          const model = await drive.newUntitled({ type: 'notebook' });
          await browser.model.refresh();
          await app.commands.execute('docmanager:open', { path: `${DRIVE_NAME}:${model.path}`, factory: 'Notebook' });
        } catch (error) {
          fail(trans.__('Cannot create a shared notebook'))(error);
        }
      },
    });
    app.commands.addCommand(CommandIDs.importSharedNotebook, {
      label: trans.__('Import .ipynb as Shared Notebook…'),
      icon: fileUploadIcon,
      execute: () => {
        const input = document.createElement('input');
        input.type = 'file';
        input.accept = '.ipynb,application/x-ipynb+json';
        input.onchange = async () => {
          const file = input.files?.[0];
          if (!file) return;
          try {
            await drive.importNotebook(file.name, JSON.parse(await file.text()));
            await browser.model.refresh();
          } catch (error) {
            fail(trans.__('Cannot import %1', file.name))(error);
          }
        };
        input.click();
      },
    });
    app.commands.addCommand(CommandIDs.shareSharedNotebook, {
      label: trans.__('Share…'),
      icon: shareIcon,
      isEnabled: () => !!selected(),
      execute: async () => {
        const notebook = selected() && drive.notebookAt(selected()!.path);
        if (!notebook) return;
        await showShareDialog(api.grants(notebook.id), notebook.name, notebook.role === 'owner', trans);
      },
    });
    app.commands.addCommand(CommandIDs.downloadSharedNotebook, {
      label: trans.__('Download as .ipynb'),
      icon: downloadIcon,
      isEnabled: () => !!selected(),
      execute: async () => {
        const item = selected();
        if (!item) return;
        const link = document.createElement('a');
        link.href = await drive.getDownloadUrl(item.path);
        link.download = item.name;
        link.click();
      },
    });

    const buttons: [string, string][] = [
      ['new', CommandIDs.newSharedNotebook],
      ['import', CommandIDs.importSharedNotebook],
      ['share', CommandIDs.shareSharedNotebook],
      ['download', CommandIDs.downloadSharedNotebook],
    ];
    for (const [name, command] of buttons) {
      browser.toolbar.addItem(`tandem-${name}`, new CommandToolbarButton({ commands: app.commands, id: command, label: '' }));
    }
    for (const command of [CommandIDs.newSharedNotebook, CommandIDs.importSharedNotebook])
      palette?.addItem({ command, category: trans.__('Tandem') });
    return drive;
  },
};

/**
 * Makes every cell's editor read-only, now and for cells that arrive later. The flag stays local
 * (no `editable` metadata written): the room drops a viewer's edits anyway.
 */
function lockCells(notebook: Notebook): void {
  const lock = () =>
    notebook.widgets.forEach((cell) => {
      cell.syncEditable = false;
      cell.readOnly = true;
    });
  lock();
  notebook.model?.cells.changed.connect(lock);
}

/** Binds opened shared notebooks: who we are in the room, and read-only for viewers. */
export const collabPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:collab',
  description: 'Collaborative shared models for Tandem notebooks (Yjs rooms).',
  autoStart: true,
  requires: [ITandemClient, ITandemDrive, INotebookTracker],
  activate: (_app: JupyterFrontEnd, client: ITandemClient, drive: ITandemDrive, tracker: INotebookTracker) => {
    const me = client.request<{ name: string; displayName: string }>('me');
    drive.providerAdded.connect(async (_, { provider }) => {
      try {
        const user = await me;
        provider.sharedModel.awareness.setLocalStateField('user', { ...user, color: colorFor(user.name) });
      } catch (error) {
        console.warn('Tandem: cannot tell collaborators who you are', error);
      }
    });
    tracker.widgetAdded.connect((_, panel) => {
      const path = tandemPath(panel);
      if (!path) return;
      // The room, not the drive listing, says who may edit: it also tells an open tab about a demotion.
      whenProvider(drive, panel, path, (provider) => {
        const lock = async () => {
          await panel.context.ready;
          if (panel.isDisposed || !panel.model) return;
          panel.model.readOnly = true;
          lockCells(panel.content);
        };
        if (provider.readOnlyReason !== undefined) void lock();
        else provider.readOnlyChanged.connect(() => void lock());
      });
    });
  },
};

/** Collaborators' cursors, selections and names in cells, and a collaborators list per notebook. */
export const presencePlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:presence',
  description: 'Shows who else is in a shared notebook and where their cursors are.',
  autoStart: true,
  requires: [ITandemDrive, INotebookTracker, IEditorExtensionRegistry],
  optional: [ITranslator],
  activate: (
    _app: JupyterFrontEnd,
    drive: ITandemDrive,
    tracker: INotebookTracker,
    editors: IEditorExtensionRegistry,
    translator: ITranslator | null,
  ) => {
    editors.addExtension({
      name: 'tandem:remote-cursors',
      factory: ({ model }) => {
        const extension = remoteCursors(model.sharedModel as Parameters<typeof remoteCursors>[0]);
        return extension ? EditorExtensionRegistry.createImmutableExtension(extension) : null;
      },
    });
    tracker.widgetAdded.connect((_, panel) => {
      const path = tandemPath(panel);
      if (!path) return;
      whenProvider(drive, panel, path, (provider) => {
        const list = new CollaboratorsList(provider, translator ?? nullTranslator);
        panel.toolbar.insertItem(10, 'tandem-collaborators', list);
        panel.disposed.connect(() => list.dispose());
      });
    });
  },
};

/** Calls `fn` with the room connection of the panel's notebook once the drive has made it (unless the panel closed first). */
function whenProvider(drive: ITandemDrive, panel: NotebookPanel, path: string, fn: (provider: ICollabProvider) => void): void {
  const existing = drive.providerFor(path);
  if (existing) return fn(existing);
  const onAdded = (_: unknown, added: { path: string; provider: ICollabProvider }) => {
    if (added.path !== path) return;
    drive.providerAdded.disconnect(onAdded);
    if (!panel.isDisposed) fn(added.provider);
  };
  drive.providerAdded.connect(onAdded);
  panel.disposed.connect(() => drive.providerAdded.disconnect(onAdded));
}

/** The drive-local path of a notebook on the Tandem drive, or undefined for other notebooks. */
function tandemPath(panel: NotebookPanel): string | undefined {
  const prefix = `${DRIVE_NAME}:`;
  return panel.context.path.startsWith(prefix) ? panel.context.path.slice(prefix.length) : undefined;
}
