import type { TranslationBundle } from '@jupyterlab/translation';
import type { CellChoice } from './api';

/**
 * What the Publish dialog can tell before anything is sent (the server checks the rest, cron and
 * time zone included, before it writes anything): the problem to show, or undefined.
 */
export function checkChoices(
  choices: { selection: CellChoice[]; cron: string; timezone: string },
  trans: TranslationBundle,
): string | undefined {
  if (choices.selection.length === 0) return trans.__('selection: choose at least one cell to show');
  if (choices.cron && !choices.timezone) return trans.__('timezone: choose the time zone of the schedule');
  return undefined;
}
