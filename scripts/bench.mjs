#!/usr/bin/env node
// `npm run bench [-- <filter>]`: runs every workspace's bench/*.bench.mjs one after the other (they
// compete for the same 2 cores otherwise) and keeps each one's output in bench-results/.
import { createWriteStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/paths.mjs';
import { log, startProcess } from './lib/proc.mjs';
import { setup } from './setup.mjs';

const WORKSPACES = ['server', 'kernel', 'extension'];
const OUT = path.join(ROOT, 'bench-results');

function runBench(file) {
  const name = path.basename(file, '.bench.mjs');
  const output = createWriteStream(path.join(OUT, `${name}.txt`));
  log(`bench ${path.relative(ROOT, file)}`);
  const child = startProcess('node', [file], { cwd: ROOT, name, logStream: output });
  child.stdout.pipe(process.stdout);
  child.stderr.pipe(process.stderr);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ name, code })));
}

async function main() {
  await setup({ test: true });
  mkdirSync(OUT, { recursive: true });
  const filter = process.argv[2];
  const files = WORKSPACES.flatMap((ws) => {
    const dir = path.join(ROOT, ws, 'bench');
    return existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.bench.mjs'))
          .map((f) => path.join(dir, f))
      : [];
  }).filter((f) => !filter || f.includes(filter));
  const results = [];
  for (const file of files) results.push(await runBench(file));
  for (const r of results) log(`${r.name}: ${r.code === 0 ? 'done' : `exited with ${r.code}`}`);
  log(`figures kept in ${path.relative(ROOT, OUT)}/`);
  process.exit(results.every((r) => r.code === 0) ? 0 : 1);
}

main();
