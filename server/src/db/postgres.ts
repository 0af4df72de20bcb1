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
  const statementName = statementNamer();
  const wrap = (q: Pick<pg.Pool, 'query'>): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      const name = params ? statementName(sql) : undefined;
      return (await q.query(name ? { name, text: sql, values: params } : { text: sql, values: params })).rows as R[];
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
    listen: sharedListener(url, options.onIdleError ?? (() => undefined)),
    close: () => pool.end(),
  };
}

/**
 * One connection of its own LISTENs on every channel: LISTEN holds for the session, so it cannot
 * use pooled connections, and a connection per channel would grow with every feature that listens.
 */
function sharedListener(url: string, onError: (error: Error) => void): Db['listen'] {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let client: Promise<pg.Client> | undefined;
  const connect = async () => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', onError);
    c.on('notification', (n) => {
      for (const handler of handlers.get(n.channel) ?? []) handler(n.payload ?? '');
    });
    await c.connect();
    return c;
  };
  return async (channel, onMessage) => {
    client ??= connect().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    const c = await client;
    let channelHandlers = handlers.get(channel);
    if (!channelHandlers) {
      channelHandlers = new Set();
      handlers.set(channel, channelHandlers);
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    channelHandlers.add(onMessage);
    const own = channelHandlers;
    return async () => {
      if (!own.delete(onMessage) || own.size > 0) return;
      handlers.delete(channel);
      if (handlers.size > 0) {
        await c.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`);
      } else {
        client = undefined;
        await c.end();
      }
    };
  };
}

/**
 * The name to prepare a statement under, once its text has recurred: a connection then parses and
 * plans it once instead of on every call, about a third of a short request's time in PostgreSQL.
 * Statements built per request (search filters) recur only by shape, so one-off texts stay
 * unnamed and the names are capped: no connection's statement cache grows without bound.
 */
export function statementNamer({ after = 3, most = 200, tracked = 10_000 } = {}): (sql: string) => string | undefined {
  const names = new Map<string, string>();
  const uses = new Map<string, number>();
  return (sql) => {
    const name = names.get(sql);
    if (name || names.size >= most) return name;
    const used = (uses.get(sql) ?? 0) + 1;
    if (used < after) {
      if (uses.size >= tracked) uses.clear();
      uses.set(sql, used);
      return undefined;
    }
    uses.delete(sql);
    const named = `tandem_${names.size + 1}`;
    names.set(sql, named);
    return named;
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
