import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { CommandToolbarButton, ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { CommandIDs } from '../commands';
import { addSidebarPanel } from '../sidebar';
import type { TandemClient } from '../requests';
import { DRIVE_NAME } from '../collab/drive';
import { ITandemClient, ITandemDrive } from '../tokens';
import { DashboardsApi, type DashboardLink, type Published } from './api';
import { firstHeading, type NotebookCell } from './cells';
import { checkChoices } from './checks';
import { DashboardsPanel } from './panel';
import { askPublishChoices, showPublished } from './publish-dialog';

const dashboardIcon = new LabIcon({
  name: 'tandem:dashboard',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M3 3h8v10H3zm10 0h8v6h-8zM3 15h8v6H3zm10-4h8v10h-8z"/></svg>',
});

/** Where a notebook remembers the dashboard it was published as, so the next publish adds a version. */
interface DashboardMetadata {
  slug: string;
  cron?: string;
}

const metadataOf = (panel: NotebookPanel) => (panel.model?.getMetadata('tandem') ?? {}) as { dashboard?: DashboardMetadata };

async function publish(api: DashboardsApi, panel: NotebookPanel, drive: ITandemDrive | null, trans: TranslationBundle): Promise<void> {
  const model = panel.model;
  if (!model) return;
  const notebook = model.toJSON() as unknown as { cells: NotebookCell[] };
  const tandem = metadataOf(panel);
  const shared = panel.context.path.startsWith(`${DRIVE_NAME}:`) ? drive?.notebookAt(panel.context.localPath) : undefined;
  const existing = tandem.dashboard ? await api.get(tandem.dashboard.slug).catch(() => undefined) : undefined;
  const choices = await askPublishChoices(
    notebook.cells,
    {
      title:
        existing?.title ??
        firstHeading(notebook.cells) ??
        panel.context.localPath
          .split('/')
          .pop()!
          .replace(/\.ipynb$/, ''),
      description: existing?.description ?? '',
      cron: existing?.schedule?.cron ?? '',
      timezone: existing?.schedule?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
      republish: !!existing,
      // Only shared notebooks (on the Tandem drive) can be followed live.
      live: shared ? !!existing?.liveNotebookId : undefined,
    },
    trans,
  );
  if (!choices) return;
  const problem = checkChoices(choices, trans);
  if (problem) throw new PublishError(trans.__('Nothing was published: %1', problem));
  // The schedule travels with the publish, which the server checks before writing anything.
  const schedule = choices.cron ? { cron: choices.cron, timezone: choices.timezone } : existing?.schedule ? { cron: null } : undefined;
  const body = { title: choices.title, description: choices.description, notebook, selection: choices.selection, schedule };
  let published: Published;
  try {
    published = existing ? await api.republish(existing.slug, body) : await api.create({ ...body, notebookPath: panel.context.path });
  } catch (error) {
    throw new PublishError(trans.__('Nothing was published: %1', messageOf(error)));
  }
  const { dashboard, version } = published;
  model.setMetadata('tandem', { ...tandem, dashboard: { slug: dashboard.slug, ...(choices.cron ? { cron: choices.cron } : {}) } });
  let share: DashboardLink | undefined;
  try {
    if (choices.live && shared) await api.setLive(dashboard.slug, { notebookId: shared.id, selection: choices.selection });
    else if (existing?.liveNotebookId) await api.setLive(dashboard.slug, { notebookId: null });
    share = choices.shareLink ? await api.createLink(dashboard.slug) : undefined;
  } catch (error) {
    throw new PublishError(trans.__('Version %1 of “%2” was published, but %3', version, dashboard.title, messageOf(error)));
  }
  await showPublished(
    {
      title: dashboard.title,
      version,
      pageUrl: api.pageUrl(dashboard.slug),
      shareUrl: share && `${api.client.url}${share.url}`,
    },
    trans,
  );
}

/** A publish that failed, with a message that says what was (not) published. */
class PublishError extends Error {}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** "Publish as dashboard": notebook toolbar button and command palette entry. */
export const publishPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:publish',
  description: 'Publish a notebook’s chosen outputs as a dashboard on the Tandem server.',
  autoStart: true,
  requires: [ITandemClient, INotebookTracker],
  optional: [ICommandPalette, ITandemDrive, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: TandemClient,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    drive: ITandemDrive | null,
    translator: ITranslator | null,
  ) => {
    const trans = (translator ?? nullTranslator).load('tandem');
    const api = new DashboardsApi(client);
    app.commands.addCommand(CommandIDs.publishDashboard, {
      label: trans.__('Publish as Dashboard…'),
      caption: trans.__('Publish chosen outputs of this notebook as a dashboard page (code hidden)'),
      icon: dashboardIcon,
      isEnabled: () => !!tracker.currentWidget,
      execute: async () => {
        const panel = tracker.currentWidget;
        if (!panel) return;
        try {
          await publish(api, panel, drive, trans);
        } catch (error) {
          await showErrorMessage(
            trans.__('Publishing the dashboard failed'),
            error instanceof PublishError ? error.message : trans.__('Nothing was published: %1', messageOf(error)),
          );
        }
      },
    });
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new CommandToolbarButton({ commands: app.commands, id: CommandIDs.publishDashboard, label: trans.__('Publish') });
        panel.toolbar.insertAfter('cellType', 'tandem-publish', button);
        return button;
      },
    });
    palette?.addItem({ command: CommandIDs.publishDashboard, category: trans.__('Tandem') });
  },
};

/** The Dashboards panel in the left sidebar, opened by `CommandIDs.openDashboards` (optionally with `{ slug }`). */
export const dashboardsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:dashboards',
  description: 'Dashboards panel: published dashboards with their versions, schedules, refreshes and links.',
  autoStart: true,
  requires: [ITandemClient],
  optional: [ICommandPalette, ITranslator],
  activate: (app: JupyterFrontEnd, client: TandemClient, palette: ICommandPalette | null, translator: ITranslator | null) => {
    translator ??= nullTranslator;
    const trans = translator.load('tandem');
    const panel = new DashboardsPanel({
      api: new DashboardsApi(client),
      openJob: (id) => void app.commands.execute(CommandIDs.openJobs, { id }),
      loadNotebook: async (path) => (await app.serviceManager.contents.get(path, { type: 'notebook', content: true })).content,
      translator,
    });
    addSidebarPanel(app, palette, trans, {
      panel,
      icon: dashboardIcon,
      rank: 620,
      command: CommandIDs.openDashboards,
      label: trans.__('Dashboards'),
      caption: trans.__('Show the Tandem dashboards you can see'),
      open: (dashboards, args) => {
        if (typeof args.slug === 'string') dashboards.open(args.slug);
      },
    });
  },
};
