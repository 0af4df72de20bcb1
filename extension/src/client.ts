import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { settingsFromPageConfig, TandemClient } from './requests';
import { ITandemClient } from './tokens';

/** Provides the Tandem server client; settings override what page config says. */
export const clientPlugin: JupyterFrontEndPlugin<ITandemClient> = {
  id: '@tandem/extension:client',
  description: 'Connection to the Tandem server.',
  autoStart: true,
  provides: ITandemClient,
  optional: [ISettingRegistry],
  activate: async (_app: JupyterFrontEnd, registry: ISettingRegistry | null) => {
    const client = new TandemClient(settingsFromPageConfig());
    if (registry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        const url = settings.get('serverUrl').composite as string;
        const token = settings.get('token').composite as string;
        client.update({ ...(url ? { url } : {}), ...(token ? { token } : {}) });
      };
      try {
        const settings = await registry.load(clientPlugin.id);
        apply(settings);
        settings.changed.connect(apply);
      } catch (error) {
        console.warn('Tandem settings could not be loaded; using page config', error);
      }
    }
    return client;
  },
};
