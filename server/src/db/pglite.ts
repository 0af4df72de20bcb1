import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable } from './db.js';

/** Embedded PostgreSQL (WASM) in a data folder; one connection, so transactions run one at a time. */
export async function openPglite(dataDir?: string, options: { loadDataDir?: Blob } = {}): Promise<Db & { dump(): Promise<Blob> }> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir, { loadDataDir: options.loadDataDir });
  const wrap = (q: Pick<PGlite, 'query'>): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      return (await q.query<R>(sql, params as unknown[])).rows;
    },
  });
  return {
    dialect: 'pglite',
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    exec: async (sql) => {
      await pg.exec(sql);
    },
    async listen(channel, onMessage) {
      const stop = await pg.listen(channel, onMessage);
      return async () => stop();
    },
    close: () => pg.close(),
    /** A copy of the whole cluster; `loadDataDir` starts a new instance from it in a fraction of initdb's time. */
    dump: () => pg.dumpDataDir('none'),
  };
}
