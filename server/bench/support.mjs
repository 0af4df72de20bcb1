// What the server benches share: the compiled server on real PostgreSQL (and MinIO on request) in
// a scratch folder, stopped in reverse order afterwards even when the bench fails.
import { chmodSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMinio, startPostgres } from '../../scripts/lib/services.mjs';
import { ensureBuild } from '../../scripts/lib/setup-steps.mjs';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/src');

/** A module of the compiled server; the cached build is a no-op when nothing changed. */
export async function serverModule(relativePath) {
  await ensureBuild();
  return import(path.join(DIST, relativePath));
}

/** Runs `bench({ server, scratch, minio, onStop })`; `onStop(fn)` adds clean-up run before the server stops. */
export async function withBenchServer({ name, minio: withMinio = false }, bench) {
  const { loadConfig } = await serverModule('config.js');
  const { startServer } = await serverModule('server.js');
  const scratch = await mkdtemp(path.join(os.tmpdir(), `tandem-${name}-bench-`));
  chmodSync(scratch, 0o755); // PostgreSQL runs as its own user when we are root
  const stops = [];
  try {
    const pg = await startPostgres({ dir: path.join(scratch, 'pg'), logFile: path.join(scratch, 'pg.log') });
    stops.push(pg.stop);
    const minio = withMinio ? await startMinio({ dir: path.join(scratch, 'minio'), logFile: path.join(scratch, 'minio.log') }) : undefined;
    if (minio) stops.push(minio.stop);
    const server = await startServer({
      config: loadConfig({
        TANDEM_HOME: path.join(scratch, 'home'),
        TANDEM_PORT: '0',
        TANDEM_LOG_LEVEL: 'warn',
        TANDEM_DATABASE_URL: pg.url,
        ...minio?.env,
      }),
    });
    stops.unshift(() => server.close());
    await bench({ server, scratch, minio, onStop: (stop) => stops.unshift(stop) });
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}
