import { Token } from '@lumino/coreutils';
import type { TandemClient } from './requests';

/** The Tandem server connection every plugin uses (URL + token from page config or settings). */
export const ITandemClient = new Token<TandemClient>('@tandem/extension:ITandemClient', 'Calls the Tandem server API.');
