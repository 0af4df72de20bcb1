import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { ITranslator, nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import { notebookIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { CommandIDs } from '../commands';
import { h } from '../dom';
import { ITandemClient } from '../tokens';

interface Template {
  name: string;
  title: string;
  description: string;
}

/** Asks which template to start from when the command runs without one (e.g. from the palette). */
async function chooseTemplate(templates: Template[], trans: TranslationBundle): Promise<string | undefined> {
  const select = h(
    'select',
    { class: 'jp-mod-styled', 'aria-label': trans.__('Template') },
    ...templates.map((t) => h('option', { value: t.name }, `${t.title} — ${t.description}`)),
  );
  const result = await showDialog({
    title: trans.__('New notebook from template'),
    body: new Widget({ node: select }),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Create') })],
  });
  return result.button.accept ? select.value : undefined;
}

/** "New from template": launcher cards (section "Tandem templates") and a palette command. */
export const templatesPlugin: JupyterFrontEndPlugin<void> = {
  id: '@tandem/extension:templates',
  description: 'Notebook templates from the Tandem server in the launcher.',
  autoStart: true,
  requires: [ITandemClient],
  optional: [ILauncher, ICommandPalette, IDefaultFileBrowser, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: ITandemClient,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null,
    translator: ITranslator | null,
  ) => {
    const trans = (translator ?? nullTranslator).load('tandem');
    let templates: Promise<Template[]> | undefined;
    const list = () =>
      (templates ??= client
        .request<{ templates: Template[] }>('templates')
        .then((r) => r.templates)
        .catch((e) => ((templates = undefined), Promise.reject(e))));
    const contents = app.serviceManager.contents;

    /** `<name>.ipynb`, or `<name>-2.ipynb`… when taken, in the file browser's folder. */
    const freePath = async (dir: string, name: string) => {
      for (let i = 1; ; i++) {
        const path = `${dir ? `${dir}/` : ''}${name}${i > 1 ? `-${i}` : ''}.ipynb`;
        const exists = await contents.get(path, { content: false }).then(
          () => true,
          () => false,
        );
        if (!exists) return path;
      }
    };

    app.commands.addCommand(CommandIDs.newFromTemplate, {
      label: (args) => (typeof args.title === 'string' ? args.title : trans.__('New from Template…')),
      caption: (args) => (typeof args.description === 'string' ? args.description : trans.__('Create a notebook from a Tandem template')),
      icon: (args) => (args.title ? notebookIcon : undefined),
      execute: async (args) => {
        try {
          const name = typeof args.name === 'string' ? args.name : await chooseTemplate(await list(), trans);
          if (!name) return;
          const notebook = await client.request<Record<string, unknown>>(`templates/${encodeURIComponent(name)}`);
          const path = await freePath(browser?.model.path ?? '', name);
          await contents.save(path, { type: 'notebook', format: 'json', content: notebook });
          await app.commands.execute('docmanager:open', { path });
        } catch (error) {
          await showErrorMessage(trans.__('Creating a notebook from the template failed'), (error as Error).message);
        }
      },
    });
    palette?.addItem({ command: CommandIDs.newFromTemplate, category: trans.__('Tandem') });
    if (launcher) {
      void app.restored
        .then(list)
        .then((items) =>
          items.forEach((t, rank) =>
            launcher.add({ command: CommandIDs.newFromTemplate, args: { ...t }, category: trans.__('Tandem templates'), rank }),
          ),
        )
        .catch((error: unknown) => console.warn('Tandem templates are unavailable', error));
    }
  },
};
