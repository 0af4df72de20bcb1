import { ILabShell, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { CommandToolbarButton, ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { IDefaultFileBrowser, IFileBrowserFactory, type FileBrowser } from '@jupyterlab/filebrowser';
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
  optional: [ICommandPalette, ITranslator, IDefaultFileBrowser, ILabShell],
  provides: ITandemDrive,
  activate: (
    app: JupyterFrontEnd,
    // The feature APIs (./api.ts) still take the TandemClient class that ITandemClient describes.
    client: TandemClient,
    factory: IFileBrowserFactory,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    defaultBrowser: FileBrowser | null,
    labShell: ILabShell | null,
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
    if (defaultBrowser) followVisibleBrowser(factory, browser, defaultBrowser, labShell, app.restored);

    /** The shared notebook selected in the Tandem file browser (its items carry "Tandem:" paths). */
    const selected = () => {
      const item = browser.selectedItems().next();
      if (item.done || item.value.type !== 'notebook') return undefined;
      const path = item.value.path.startsWith(`${DRIVE_NAME}:`) ? item.value.path.slice(DRIVE_NAME.length + 1) : item.value.path;
      const notebook = drive.notebookAt(path);
      return notebook && { path, name: item.value.name, notebook };
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
      caption: trans.__('Share the selected shared notebook'),
      icon: shareIcon,
      isEnabled: () => !!selected(),
      execute: async () => {
        const notebook = selected()?.notebook;
        if (!notebook) return;
        await showShareDialog(api.grants(notebook.id), notebook.name, notebook.role === 'owner', trans);
      },
    });
    app.commands.addCommand(CommandIDs.downloadSharedNotebook, {
      label: trans.__('Download as .ipynb'),
      caption: trans.__('Download the selected shared notebook as .ipynb'),
      icon: downloadIcon,
      isEnabled: () => !!selected(),
      execute: async () => {
        const item = selected();
        if (!item) return;
        try {
          const link = document.createElement('a');
          link.href = await drive.getDownloadUrl(item.path);
          link.download = /\.ipynb$/i.test(item.name) ? item.name : `${item.name}.ipynb`;
          link.click();
        } catch (error) {
          fail(trans.__('Cannot download %1', item.name))(error);
        }
      },
    });
    // Toolbar buttons, menu items and palette entries follow the selection.
    const selectionCommands = [CommandIDs.shareSharedNotebook, CommandIDs.downloadSharedNotebook];
    const notify = () => selectionCommands.forEach((id) => app.commands.notifyCommandChanged(id));
    browser.selectionChanged.connect(notify);
    browser.model.refreshed.connect(notify);
    selectionCommands.forEach((command, i) =>
      app.contextMenu.addItem({ command, selector: '.tandem-SharedBrowser .jp-DirListing-item[data-isdir="false"]', rank: 10 + i }),
    );

    const buttons: [string, string][] = [
      ['new', CommandIDs.newSharedNotebook],
      ['import', CommandIDs.importSharedNotebook],
      ['share', CommandIDs.shareSharedNotebook],
      ['download', CommandIDs.downloadSharedNotebook],
    ];
    for (const [name, command] of buttons) {
      browser.toolbar.addItem(`tandem-${name}`, new CommandToolbarButton({ commands: app.commands, id: command, label: '' }));
    }
    for (const command of [CommandIDs.newSharedNotebook, CommandIDs.importSharedNotebook, ...selectionCommands])
      palette?.addItem({ command, category: trans.__('Tandem') });
    return drive;
  },
};

/**
 * JupyterLab creates new notebooks (launcher, File › New) in the folder of the file browser
 * tracker's current browser: the last one focused or, until one is, the last one added, which is
 * the Tandem browser even while it is hidden. So the current browser follows what the user sees:
 * the Tandem browser only while it is shown, the default (local) browser otherwise.
 */
function followVisibleBrowser(
  factory: IFileBrowserFactory,
  tandem: FileBrowser,
  local: FileBrowser,
  shell: ILabShell | null,
  restored: Promise<void>,
): void {
  const follow = () => {
    const current = factory.tracker.currentWidget;
    if (current?.isVisible) return;
    const wanted = tandem.isVisible ? tandem : local;
    // The tracker's focus tracker only listens for focus events: tell it without moving the user's focus.
    if (current !== wanted && !wanted.isDisposed) wanted.node.dispatchEvent(new FocusEvent('focus'));
  };
  // Switching the side bar's panel, or collapsing it, modifies the layout.
  shell?.layoutModified.connect(follow);
  void restored.then(follow);
}

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
      nameNotebookToKernel(panel, () => drive.notebookAt(path)?.id);
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

/** The kernel spec whose kernels read TANDEM_NOTEBOOK (jupyter-config/data/kernels/tandem). */
const TANDEM_KERNEL = 'tandem';

/**
 * Tells the TypeScript (Tandem) kernel of a shared notebook which document it runs for, so that the
 * lineage of what it registers names the shared notebook (`tandem:<id>`): Jupyter only tells it a
 * local path, which does not exist. Sent silently (no execution count, no history) at every kernel
 * start and restart.
 */
function nameNotebookToKernel(panel: NotebookPanel, idOf: () => string | undefined): void {
  const session = panel.sessionContext;
  const tell = () => {
    const kernel = session.session?.kernel;
    const id = idOf();
    if (!kernel || kernel.name !== TANDEM_KERNEL || !id) return;
    const code = `(globalThis as any).process.env.TANDEM_NOTEBOOK = ${JSON.stringify(`tandem:${id}`)};`;
    kernel.requestExecute({ code, silent: true, store_history: false }, true).done.catch(() => undefined);
  };
  let starting = true;
  session.statusChanged.connect((_, status) => {
    if (status === 'starting' || status === 'restarting' || status === 'autorestarting') starting = true;
    else if (status === 'idle' && starting) {
      starting = false;
      tell();
    }
  });
  session.kernelChanged.connect(() => {
    starting = true;
  });
}

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
