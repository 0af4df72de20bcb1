import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Db } from './db.js';
import { migrate } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

/** Opens the configured database (real PostgreSQL when TANDEM_DATABASE_URL is set) and migrates it. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'home'>, log: Logger): Promise<Db> {
  const db = config.databaseUrl
    ? await openPostgres(config.databaseUrl, {
        onIdleError: (error) => log.warn('PostgreSQL closed an idle connection; it will be replaced', { error: String(error) }),
      })
    : await openPglite(path.join(config.home, 'db'));
  await migrate(db);
  return db;
}
