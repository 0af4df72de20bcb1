import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The server package folder, whether running from src/ (tests) or dist/src/ (built). */
export const SERVER_ROOT = findUp(path.dirname(fileURLToPath(import.meta.url)));

function findUp(dir: string): string {
  return existsSync(path.join(dir, 'package.json')) ? dir : findUp(path.dirname(dir));
}
