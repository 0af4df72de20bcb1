import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { LabIcon } from '@jupyterlab/ui-components';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import type { Widget } from '@lumino/widgets';

export interface SidebarPanelOptions<P extends Widget> {
  panel: P;
  icon: LabIcon;
  /** Place in the left sidebar: lower ranks come first. */
  rank: number;
  /** The command that shows the panel (a `CommandIDs` entry). */
  command: string;
  label: string;
  caption: string;
  /** What the command does with its arguments once the panel is shown, e.g. open one item. */
  open?: (panel: P, args: ReadonlyPartialJSONObject) => void;
}

/** Adds a Tandem panel to the left sidebar with a palette command that shows it. */
export function addSidebarPanel<P extends Widget>(
  app: JupyterFrontEnd,
  palette: ICommandPalette | null,
  trans: TranslationBundle,
  { panel, icon, rank, command, label, caption, open }: SidebarPanelOptions<P>,
): void {
  panel.title.icon = icon;
  app.shell.add(panel, 'left', { rank });
  app.commands.addCommand(command, {
    label,
    caption,
    icon,
    execute: (args) => {
      app.shell.activateById(panel.id);
      open?.(panel, args);
    },
  });
  palette?.addItem({ command, category: trans.__('Tandem') });
}
