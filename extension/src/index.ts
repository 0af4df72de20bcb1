import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { clientPlugin } from './client';
import { collabPlugin, drivePlugin, presencePlugin } from './collab/plugin';
import { dashboardsPlugin, publishPlugin } from './dashboards/plugin';
import { experimentsPlugin } from './experiments/plugin';
import { identityPlugin } from './identity/plugin';
import { jobsPlugin } from './jobs/plugin';
import { launcherPlugin } from './launcher';
import { modelsPlugin } from './models/plugin';
import { notificationsPlugin } from './notifications/plugin';
import { templatesPlugin } from './templates/plugin';

/** One plugin per concern; each feature folder exports its plugins here. The table renderer is a mime extension (src/table/mime.ts). */
const plugins: JupyterFrontEndPlugin<any>[] = [
  clientPlugin,
  identityPlugin,
  launcherPlugin,
  modelsPlugin,
  experimentsPlugin,
  drivePlugin,
  collabPlugin,
  presencePlugin,
  jobsPlugin,
  publishPlugin,
  dashboardsPlugin,
  templatesPlugin,
  notificationsPlugin,
];

export default plugins;
