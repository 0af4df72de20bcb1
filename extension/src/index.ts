import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { clientPlugin } from './client';
import { modelsPlugin } from './models/plugin';

/** One plugin per concern; each feature folder exports its plugins here. */
const plugins: JupyterFrontEndPlugin<any>[] = [clientPlugin, modelsPlugin];

export default plugins;
