import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { clientPlugin } from './client';
import { collabPlugin, drivePlugin, presencePlugin } from './collab/plugin';
import { publishPlugin } from './dashboards/plugin';
import { jobsPlugin } from './jobs/plugin';
import { launcherPlugin } from './launcher';
import { modelsPlugin } from './models/plugin';
import { templatesPlugin } from './templates/plugin';

/** One plugin per concern; each feature folder exports its plugins here. The table renderer is a mime extension (src/table/mime.ts). */
const plugins: JupyterFrontEndPlugin<any>[] = [
  clientPlugin,
  launcherPlugin,
  modelsPlugin,
  drivePlugin,
  collabPlugin,
  presencePlugin,
  jobsPlugin,
  publishPlugin,
  templatesPlugin,
];

export default plugins;
