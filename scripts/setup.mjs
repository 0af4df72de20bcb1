#!/usr/bin/env node
// `npm run setup [-- --test]`: installs whatever is missing for `npm start` (and `npm test`).
// Every step is cached, so running it again takes a second or two.
import { pathToFileURL } from 'node:url';
import { ensureBuild, ensureNodeModules, ensureSandbox, ensureSparkClassArchive, ensureTestTools, ensureVenv } from './lib/setup-steps.mjs';
import { log } from './lib/proc.mjs';

export async function setup({ test = false } = {}) {
  const started = Date.now();
  const testTools = test ? ensureTestTools() : undefined;
  if (!test) ensureSandbox();
  testTools?.catch(() => {}); // reported by the await below, not as an unhandled rejection
  await ensureNodeModules();
  await ensureVenv({ dev: test });
  await ensureBuild();
  // Java came with the test tools; the archive builds while MinIO may still be compiling.
  await Promise.all([testTools, test && ensureSparkClassArchive()]);
  log(`set-up ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  setup({ test: process.argv.includes('--test') }).catch((error) => {
    console.error(`\nset-up failed: ${error.message}`);
    process.exit(1);
  });
}
