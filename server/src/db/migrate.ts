import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SERVER_ROOT } from '../paths.js';
import type { Db } from './db.js';

export const MIGRATIONS_DIR = path.join(SERVER_ROOT, 'migrations');

/**
 * Applies `migrations/NNN_name.sql` files in order, each once, each in its own transaction.
 * An advisory lock makes concurrent server starts against one PostgreSQL safe.
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
  // Under the lock too: two concurrent CREATE TABLE IF NOT EXISTS can both miss the table and the
  // loser fails on the catalog's unique index (pg_type_typname_nsp_index).
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7243001)');
    await tx.query('CREATE TABLE IF NOT EXISTS tandem_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  });
  const applied: string[] = [];
  for (const file of files) {
    const sql = await readFile(path.join(dir, file), 'utf8');
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7243001)');
      const seen = await tx.query('SELECT 1 FROM tandem_migrations WHERE name = $1', [file]);
      if (seen.length > 0) return false;
      // Statements run one by one: parameterless multi-statement scripts are not allowed inside
      // an extended-protocol transaction on every driver.
      for (const statement of splitStatements(sql)) await tx.query(statement);
      await tx.query('INSERT INTO tandem_migrations (name) VALUES ($1)', [file]);
      return true;
    });
    if (done) applied.push(file);
  }
  return applied;
}

/** Splits a SQL script on semicolons outside quotes, comments and dollar-quoted bodies. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let i = 0;
  while (i < sql.length) {
    const rest = sql.slice(i);
    const dollar = /^\$[A-Za-z_]*\$/.exec(rest);
    if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (sql[i] === "'" || sql[i] === '"') {
      const quote = sql[i];
      let j = i + 1;
      while (j < sql.length && !(sql[j] === quote && sql[j + 1] !== quote)) j += sql[j] === quote ? 2 : 1;
      current += sql.slice(i, j + 1);
      i = j + 1;
    } else if (dollar) {
      const end = sql.indexOf(dollar[0], i + dollar[0].length);
      const stop = end === -1 ? sql.length : end + dollar[0].length;
      current += sql.slice(i, stop);
      i = stop;
    } else if (sql[i] === ';') {
      if (current.trim()) out.push(current.trim());
      current = '';
      i++;
    } else {
      current += sql[i];
      i++;
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}
