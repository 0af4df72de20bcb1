import os from 'node:os';
import path from 'node:path';

/** Where downloaded files are kept for DuckDB to read (TANDEM_SQL_CACHE, else the temp folder). */
export const cacheDir = (): string => process.env.TANDEM_SQL_CACHE ?? path.join(os.tmpdir(), 'tandem-sql-cache');
