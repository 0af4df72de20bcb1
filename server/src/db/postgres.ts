import pg from 'pg';
import type { Db, Queryable } from './db.js';

/** A pooled connection to a real PostgreSQL server. */
export async function openPostgres(url: string, options: { max?: number; onIdleError?: (error: Error) => void } = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 20 });
  // An idle connection the server ends (restart, failover, pg_terminate_backend) is reported on the
  // pool; unheard, that event would crash the process. The pool replaces the connection by itself.
  pool.on('error', options.onIdleError ?? (() => undefined));
  // Fail at start with a clear message rather than on the first request.
  const probe = await pool.connect().catch((cause: unknown) => {
    throw new Error(`cannot connect to PostgreSQL at ${redact(url)}: ${String(cause)}`, { cause });
  });
  probe.release();
  const wrap = (q: Pick<pg.Pool, 'query'>): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      return (await q.query(sql, params)).rows as R[];
    },
  });
  return {
    dialect: 'postgres',
    ...wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    exec: async (sql) => {
      await pool.query(sql);
    },
    async listen(channel, onMessage) {
      // A connection of its own: LISTEN holds for the session, and pooled ones are shared.
      const client = new pg.Client({ connectionString: url });
      client.on('error', options.onIdleError ?? (() => undefined));
      await client.connect();
      client.on('notification', (n) => {
        if (n.channel === channel) onMessage(n.payload ?? '');
      });
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      return () => client.end();
    },
    close: () => pool.end(),
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
