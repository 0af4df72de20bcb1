import { Token } from '@lumino/coreutils';
import type { TandemDrive } from './collab/drive';
import type { TandemClient } from './requests';

/** The Tandem server connection every plugin uses (URL + token from page config or settings). */
export const ITandemClient = new Token<TandemClient>('@tandem/extension:ITandemClient', 'Calls the Tandem server API.');
/** The shared-notebooks drive: its rooms' providers and the notebook behind a path. */
export const ITandemDrive = new Token<TandemDrive>('@tandem/extension:ITandemDrive', 'Shared notebooks on the Tandem server.');
