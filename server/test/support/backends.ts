import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, inject } from 'vitest';
import { createFolderStore } from '../../src/artifacts/folder-store.js';
import { createMinioStore } from '../../src/artifacts/minio-store.js';
import type { ArtifactStore } from '../../src/artifacts/store.js';
import type { Db } from '../../src/db/db.js';
import { migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';
import { openPostgres } from '../../src/db/postgres.js';

export interface DbBackend {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated, empty database; `drop` removes it. */
  open(): Promise<Db & { drop(): Promise<void> }>;
  /** The URL of a fresh empty database (postgres only), for starting whole servers. */
  url?(): Promise<{ url: string; drop(): Promise<void> }>;
}

/** A new database on the shared test PostgreSQL server, so test files never see each other's rows. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject('databaseUrl');
  const name = `t_${randomUUID().replace(/-/g, '')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = adminUrl.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

let template: Promise<Blob> | undefined;

/** initdb + migrations once per test worker; each test database then starts from a copy. */
function migratedPgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const db = await openPglite();
    await migrate(db);
    const dump = await db.dump();
    await db.close();
    return dump;
  })();
  return template;
}

export const DB_BACKENDS: DbBackend[] = [
  {
    name: 'pglite',
    async open() {
      const db = await openPglite(undefined, { loadDataDir: await migratedPgliteTemplate() });
      return Object.assign(db, { drop: () => db.close() });
    },
  },
  {
    name: 'postgres',
    url: createPostgresDatabase,
    async open() {
      const { url, drop } = await createPostgresDatabase();
      const db = await openPostgres(url);
      await migrate(db);
      return Object.assign(db, {
        drop: async () => {
          await db.close();
          await drop();
        },
      });
    },
  },
];

/** Runs the same suite against PGlite and real PostgreSQL. */
export function describeEachDb(title: string, fn: (backend: DbBackend) => void): void {
  for (const backend of DB_BACKENDS) describe(`${title} [${backend.name}]`, () => fn(backend));
}

export interface StoreBackend {
  name: 'folder' | 'minio';
  open(): Promise<ArtifactStore & { cleanup(): Promise<void> }>;
}

export const STORE_BACKENDS: StoreBackend[] = [
  {
    name: 'folder',
    async open() {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-artifacts-'));
      const store = await createFolderStore(dir);
      return Object.assign(store, { cleanup: () => rm(dir, { recursive: true, force: true }) });
    },
  },
  {
    name: 'minio',
    async open() {
      const s3 = inject('s3');
      const store = await createMinioStore({
        endpoint: s3.TANDEM_S3_ENDPOINT,
        accessKey: s3.TANDEM_S3_ACCESS_KEY,
        secretKey: s3.TANDEM_S3_SECRET_KEY,
        bucket: `t-${randomUUID().slice(0, 18)}`,
        region: 'us-east-1',
      });
      return Object.assign(store, { cleanup: async () => undefined });
    },
  },
];

/** Runs the same suite against the folder store and MinIO. */
export function describeEachStore(title: string, fn: (backend: StoreBackend) => void): void {
  for (const backend of STORE_BACKENDS) describe(`${title} [${backend.name}]`, () => fn(backend));
}
