import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { clientPlugin } from './client';

/** One plugin per concern; each feature folder exports its plugins here. */
const plugins: JupyterFrontEndPlugin<any>[] = [clientPlugin];

export default plugins;
