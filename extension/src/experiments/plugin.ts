import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { NotebooksApi } from '../collab/api';
import { DRIVE_NAME } from '../collab/drive';
import { CommandIDs } from '../commands';
import { addSidebarPanel } from '../sidebar';
import type { TandemClient } from '../requests';
import { ITandemClient, ITandemDrive } from '../tokens';
import { ExperimentsApi, type Run } from './api';
import { CompareView } from './compare-view';
import { ExperimentsPanel } from './panel';
import { registerRun } from './register-dialog';
import { COMPARE_MAX, COMPARE_MIN } from './runs-model';

const experimentsIcon = new LabIcon({
  name: 'tandem:experiments',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M9 2h6v2h-1v5.2l5.6 9.4A2 2 0 0 1 17.9 22H6.1a2 2 0 0 1-1.7-3.4L10 9.2V4H9zm3 8.3L8.4 16h7.2z"/></svg>',
});

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Opens the notebook a run ran from. A shared notebook's named version cannot be opened beside it
 * (versions live only as restore points), so after opening the notebook this offers to restore the
 * run's version, saving the current content as a version first so that nothing is lost.
 */
async function openRunNotebook(app: JupyterFrontEnd, client: TandemClient, drive: ITandemDrive | null, run: Run, trans: TranslationBundle) {
  const source = run.notebook;
  if (!source) return;
  if (!source.startsWith('tandem:')) {
    await app.commands.execute('docmanager:open', { path: source });
    return;
  }
  const id = source.slice('tandem:'.length);
  if (!drive) throw new Error(trans.__('Shared notebooks are not available in this JupyterLab.'));
  const path = await drive.pathOfNotebook(id);
  if (!path) throw new Error(trans.__('The notebook of run “%1” was deleted or is not shared with you.', run.name));
  await app.commands.execute('docmanager:open', { path: `${DRIVE_NAME}:${path}` });
  if (!run.notebookVersion) return;
  const notebooks = new NotebooksApi(client);
  const version = (await notebooks.versions(id)).find((v) => v.id === run.notebookVersion || v.name === run.notebookVersion);
  if (!version)
    throw new Error(trans.__('The notebook’s version “%1” that run “%2” ran from no longer exists.', run.notebookVersion, run.name));
  const answer = await showDialog({
    title: trans.__('Restore version “%1”?', version.name),
    body: trans.__(
      'Run “%1” ran from version “%2” (saved %3). Restoring makes the shared notebook equal to it for everyone editing it; the current content is saved as a version first.',
      run.name,
      version.name,
      new Date(version.createdAt).toLocaleString(),
    ),
    buttons: [Dialog.cancelButton({ label: trans.__('Keep current content') }), Dialog.okButton({ label: trans.__('Restore version') })],
  });
  if (!answer.button.accept) return;
  await notebooks.saveVersion(id, trans.__('before restoring %1', version.name));
  await notebooks.restoreVersion(id, version.id);
}

/** The Experiments panel in the left sidebar, the compare view, and the actions on a run. */
export const experimentsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:experiments',
  description: 'Experiments panel: experiments, their runs (filter, sort, live), compare runs, register a run as a model version.',
  autoStart: true,
  requires: [ITandemClient],
  optional: [ICommandPalette, ITandemDrive, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: TandemClient,
    palette: ICommandPalette | null,
    drive: ITandemDrive | null,
    translator: ITranslator | null,
  ) => {
    translator ??= nullTranslator;
    const trans = translator.load('tandem');
    const api = new ExperimentsApi(client);
    const runArg = (args: { runId?: unknown }) =>
      typeof args.runId === 'string' ? api.run(args.runId) : Promise.reject(new Error('runId expected'));
    const panel = new ExperimentsPanel(
      api,
      {
        compare: (runs) => void app.commands.execute(CommandIDs.compareRuns, { runIds: runs.map((r) => r.id) }),
        openNotebook: (run) => void app.commands.execute(CommandIDs.openRunNotebook, { runId: run.id }),
        register: (run) => void app.commands.execute(CommandIDs.registerRun, { runId: run.id }),
      },
      translator,
    );
    // Until someone signs in, the list shows the sign-in prompt; afterwards it shows their experiments.
    client.userChanged.connect((_, user) => {
      if (user) void panel.refresh();
    });

    // Beside Models (600), before Jobs (610).
    addSidebarPanel(app, palette, trans, {
      panel,
      icon: experimentsIcon,
      rank: 605,
      command: CommandIDs.openExperiments,
      label: trans.__('Experiments'),
      caption: trans.__('Show the Tandem experiments and their runs'),
      open: (experiments, args) => {
        if (typeof args.id === 'string') void experiments.open(args.id);
      },
    });
    app.commands.addCommand(CommandIDs.compareRuns, {
      label: trans.__('Compare Runs'),
      caption: trans.__('Overlay %1–%2 runs’ metric curves and params', COMPARE_MIN, COMPARE_MAX),
      execute: async (args) => {
        const ids = Array.isArray(args.runIds) ? args.runIds.filter((id): id is string => typeof id === 'string') : [];
        if (ids.length < COMPARE_MIN || ids.length > COMPARE_MAX) {
          await showErrorMessage(trans.__('Cannot compare'), trans.__('Select %1 to %2 runs to compare.', COMPARE_MIN, COMPARE_MAX));
          return;
        }
        try {
          const view = new CompareView(api, await Promise.all(ids.map((id) => api.run(id))), trans);
          view.title.icon = experimentsIcon;
          app.shell.add(view, 'main');
          app.shell.activateById(view.id);
        } catch (error) {
          await showErrorMessage(trans.__('Cannot compare the runs'), messageOf(error));
        }
      },
    });
    app.commands.addCommand(CommandIDs.openRunNotebook, {
      label: trans.__('Open Notebook Version'),
      caption: trans.__('Open the notebook (version) a run ran from'),
      execute: async (args) => {
        try {
          await openRunNotebook(app, client, drive, await runArg(args), trans);
        } catch (error) {
          await showErrorMessage(trans.__('Cannot open the run’s notebook'), messageOf(error));
        }
      },
    });
    app.commands.addCommand(CommandIDs.registerRun, {
      label: trans.__('Register as Model Version…'),
      caption: trans.__('Register one of a run’s artifacts as a new model version'),
      execute: async (args) => {
        try {
          const done = await registerRun(api, await runArg(args), trans);
          if (!done) return;
          const answer = await showDialog({
            title: trans.__('Registered'),
            body: trans.__('Version %1 of model “%2” was registered.', done.version.number, done.model),
            buttons: [Dialog.cancelButton({ label: trans.__('Close') }), Dialog.okButton({ label: trans.__('Open in Models') })],
          });
          if (answer.button.accept) await app.commands.execute(CommandIDs.openModels, { name: done.model });
        } catch (error) {
          await showErrorMessage(trans.__('Cannot register the run'), messageOf(error));
        }
      },
    });
  },
};
