import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
// @ts-expect-error plain ESM helper shared with the root scripts
import { setupTestServices } from '../../../scripts/lib/test-services.mjs';
import { repoRoot } from './jupyter.js';

/** Kernel tests start `kernel/bin/tandem-kernel.js` (the compiled SDK) and worker agents (the compiled server): compile both first. */
export default async function setup(project: TestProject) {
  // The workspace's compiler by path, as the set-up runs it (no .bin link or npx lookup).
  execFileSync(
    process.execPath,
    [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b', path.join(repoRoot, 'kernel'), path.join(repoRoot, 'server')],
    {
      stdio: 'inherit',
    },
  );
  return setupTestServices(project);
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    s3: { TANDEM_S3_ENDPOINT: string; TANDEM_S3_ACCESS_KEY: string; TANDEM_S3_SECRET_KEY: string };
  }
}
