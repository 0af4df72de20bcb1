import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Where downloaded files are kept for DuckDB to read (TANDEM_SQL_CACHE, else the temp folder). */
export const cacheDir = (): string => process.env.TANDEM_SQL_CACHE ?? path.join(os.tmpdir(), 'tandem-sql-cache');

/**
 * `file` in the cache, downloaded by `download(partial)` when it is not there yet. The name must
 * change when the content does; the download lands under a partial name first, so a reader never
 * sees half a file.
 */
export async function cached(file: string, download: (partial: string) => Promise<void>): Promise<string> {
  if (existsSync(file)) return file;
  await mkdir(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.part`;
  await download(partial);
  await rename(partial, file);
  return file;
}
