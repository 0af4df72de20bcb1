#!/usr/bin/env node
// `npm run bench [-- <filter>]`: runs every workspace's bench/*.bench.mjs one after the other (they
// compete for the same 2 cores otherwise), keeps each one's output in bench-results/, and ends with
// one table of every target: the `##verdict {json}` lines benches print (scripts/lib/verdict.mjs).
// It fails when a target is missed, a bench crashes, or a bench reports no verdict.
import { createWriteStream, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/paths.mjs';
import { log, startProcess, stopProcessTree } from './lib/proc.mjs';
import { VERDICT_PREFIX, parseVerdicts } from './lib/verdict.mjs';
import { setup } from './setup.mjs';

const WORKSPACES = ['server', 'kernel', 'extension'];
const OUT = path.join(ROOT, 'bench-results');

let current;

function runBench(file) {
  const name = path.basename(file, '.bench.mjs');
  const output = createWriteStream(path.join(OUT, `${name}.txt`));
  log(`bench ${path.relative(ROOT, file)}`);
  const child = startProcess('node', [file], { cwd: ROOT, name, logStream: output, group: true });
  current = child;
  let text = '';
  let pending = '';
  // Verdict lines go to the file and the table, not to the terminal (each comes with a line for people).
  child.stdout.on('data', (chunk) => {
    text += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) if (!line.startsWith(VERDICT_PREFIX)) process.stdout.write(`${line}\n`);
  });
  child.stderr.pipe(process.stderr);
  return new Promise((resolve) => {
    // 'close', not 'exit': by then all of its output has been read.
    child.once('close', (code, signal) => {
      current = undefined;
      if (pending && !pending.startsWith(VERDICT_PREFIX)) process.stdout.write(`${pending}\n`);
      const verdicts = parseVerdicts(text).map((v) => ({ ...v, bench: v.bench ?? name }));
      if (code !== 0)
        verdicts.push({
          bench: name,
          name: 'bench run',
          target: 'exits 0',
          measured: `exited with ${code ?? signal}`,
          ratio: null,
          pass: false,
        });
      else if (verdicts.length === 0)
        verdicts.push({
          bench: name,
          name: 'bench run',
          target: 'prints verdicts',
          measured: 'no verdict printed',
          ratio: null,
          pass: false,
        });
      output.end();
      resolve({ name, code: code ?? signal, verdicts });
    });
  });
}

function table(rows) {
  const header = ['bench', 'name', 'target', 'measured', 'ratio', 'verdict'];
  const cells = rows.map((v) => [
    v.bench,
    v.name,
    v.target,
    `${v.measured}${v.note ? ` (${v.note})` : ''}`,
    v.ratio === null || v.ratio === undefined ? 'n/a' : v.ratio.toFixed(2),
    v.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) =>
    c
      .map((x, i) => x.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

async function main() {
  const stop = (signal) => {
    if (current) stopProcessTree(current).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    else process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
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
  if (files.length === 0) {
    log(`no bench matches ${filter}`);
    process.exit(1);
  }
  const results = [];
  for (const file of files) results.push(await runBench(file));
  const rows = results.flatMap((r) => r.verdicts);
  writeFileSync(path.join(OUT, 'verdicts.json'), `${JSON.stringify(rows, null, 2)}\n`);
  const summary = table(rows);
  writeFileSync(path.join(OUT, 'summary.txt'), `${summary}\n`);
  const failed = rows.filter((v) => !v.pass).length;
  process.stdout.write(`\n${summary}\n\n`);
  log(`${rows.length - failed} of ${rows.length} targets met; figures kept in ${path.relative(ROOT, OUT)}/`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(`\nbench run failed: ${error.stack ?? error}`);
  process.exit(1);
});
