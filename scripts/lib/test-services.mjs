// Vitest global set-up shared by the workspaces: real PostgreSQL and MinIO for the run.
// `npm test` starts them once and passes their addresses in the environment; a bare `npx vitest`
// in one workspace starts private ones here and stops them afterwards.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMinio, startPostgres } from './services.mjs';

export async function setupTestServices({ provide }) {
  const stops = [];
  let databaseUrl = process.env.TANDEM_TEST_DATABASE_URL;
  let s3 = process.env.TANDEM_TEST_S3_ENDPOINT
    ? {
        TANDEM_S3_ENDPOINT: process.env.TANDEM_TEST_S3_ENDPOINT,
        TANDEM_S3_ACCESS_KEY: process.env.TANDEM_TEST_S3_ACCESS_KEY,
        TANDEM_S3_SECRET_KEY: process.env.TANDEM_TEST_S3_SECRET_KEY,
      }
    : undefined;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'tandem-services-'));
  chmodSync(scratch, 0o755); // PostgreSQL runs as its own user when we are root
  const stopAll = async () => {
    await Promise.all(stops.map((stop) => stop()));
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    if (!databaseUrl) {
      const pg = await startPostgres({ dir: path.join(scratch, 'pg'), logFile: path.join(scratch, 'pg.log') });
      databaseUrl = pg.url;
      stops.push(pg.stop);
    }
    if (!s3) {
      const minio = await startMinio({ dir: path.join(scratch, 'minio'), logFile: path.join(scratch, 'minio.log') });
      s3 = minio.env;
      stops.push(minio.stop);
    }
  } catch (error) {
    // Vitest never calls the teardown of a failed set-up: stop what did start (PostgreSQL when MinIO fails).
    await stopAll();
    throw error;
  }
  provide('databaseUrl', databaseUrl);
  provide('s3', s3);
  return stopAll;
}
