// Content-hash stamps so a set-up step runs again only when its inputs change.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CACHE_DIR, ROOT } from './paths.mjs';

const SKIP = new Set(['node_modules', 'dist', 'lib', '.venv', '.tandem', 'test-results', '__pycache__']);

function* walk(file) {
  if (!existsSync(file)) return;
  if (!statSync(file).isDirectory()) {
    yield file;
    return;
  }
  for (const entry of readdirSync(file).sort()) {
    if (!SKIP.has(entry)) yield* walk(path.join(file, entry));
  }
}

/** sha256 over the paths and contents of every file under `inputs` (relative to the repo). */
export function hashInputs(inputs, extra = '') {
  const hash = createHash('sha256').update(extra);
  for (const input of inputs) {
    for (const file of walk(path.join(ROOT, input))) {
      hash.update(path.relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex');
}

/**
 * Runs `execute` unless the stamp `name` already records `hash` and `present()` holds; records the
 * hash once `execute` succeeds (or `rehash()`, for steps that rewrite their own inputs). Returns
 * whether it ran.
 */
export async function cachedStep(name, { hash, present, execute, rehash = () => hash }) {
  const stamp = path.join(CACHE_DIR, `${name}.stamp`);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && present()) return false;
  await execute();
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(stamp, rehash());
  return true;
}
