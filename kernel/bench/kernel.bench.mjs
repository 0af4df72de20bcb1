// Kernel benchmarks (run by `npm run bench`, or `node kernel/bench/kernel.bench.mjs`). Every figure
// is measured against its peer in the same run, through jupyter_client like a notebook:
//  1. kernel start (launch to the first kernel_info reply), Tandem vs ipykernel (target ≤ 1×), and
//     the first typed cell sent right after it (information);
//  2. cell round trips with type-checking on (it always is): a trivial cell (≤ 1×), a cell
//     declaring a typed const and one declaring an interface and a function (≤ 1.5×), against
//     their Python equivalents in ipykernel;
//  3. a 5,000-line console.log flood: every line delivered, and ≤ 1× ipykernel's print loop;
//  4. GROUP BY over BENCH_ROWS (default 10M) rows: `sql` vs Python duckdb in ipykernel (≤ 1.2×)
//     and vs pandas (≥ 10× faster);
//  5. a 1M×3 DuckDB result converted to Arrow, in process (≤ 100 ms).
// Both DuckDBs are the same engine version (Python duckdb is pinned in requirements-dev.txt to
// @duckdb/node-api's engine), and every side reads the same Parquet file, generated once. Both
// kernels run side by side and their cells alternate after a warm-up (time_cells.py); kernel starts
// alternate too, before the long-lived kernels start. The GROUP BY verdict times the cell users
// write, `const r = await sql`…``, which assigns (and so is type-checked against the SDK's
// declarations); a bare `(await sql`…`).numRows` is shown for information.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { venvPython } from '../../scripts/lib/paths.mjs';
import { verdict } from '../../scripts/lib/verdict.mjs';

const kernelDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(kernelDir, '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const python = venvPython();

// The workspace's compiler by path, as the set-up runs it.
const build = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b', kernelDir], { stdio: 'inherit' });
if (build.status !== 0) throw new Error('building the kernel failed');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(1)} ms`;

/** Runs time_cells.py; returns the probes' output and the median of each timed cell. */
function timeCells(spec) {
  const out = execFileSync(python, [path.join(kernelDir, 'bench/time_cells.py')], {
    input: JSON.stringify({ cwd: repoRoot, ...spec }),
    env: { ...process.env, JUPYTER_PATH: path.join(repoRoot, 'jupyter-config/data') },
    maxBuffer: 64 * 1024 * 1024,
  });
  const { starts, probes, times, lines } = JSON.parse(out.toString());
  const medians = (runs) => Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
  return {
    starts: Object.fromEntries(Object.entries(starts).map(([k, v]) => [k, medians(v)])),
    probes,
    medians: medians(times),
    lines,
  };
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'tandem-kernel-bench-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const { DuckDBInstance } = await import('@duckdb/node-api');
const conn = await (await DuckDBInstance.create(':memory:')).connect();
const nodeEngine = (await (await conn.run('select version() as v')).getRowObjects())[0].v;

// The input every side reads: written once, as Parquet.
const parquet = path.join(scratch, 'groupby.parquet');
await conn.run(`copy (select (i % 1000)::INTEGER as k, random() as v from range(${ROWS}) r(i)) to '${parquet}' (format parquet)`);
const loadSql = `create or replace table t as select * from read_parquet('${parquet}')`;
const groupBySql = 'select k, avg(v) as mean_v, count(*) as n from t group by k';

// Cells of the same meaning in both languages; the Tandem ones are type-checked as they compile.
// "{run}" makes every run new code (time_cells.py).
const CELLS = {
  typed: { tandem: 'const typed: number = {run};\ntyped + 1', python: 'typed: int = {run}\ntyped + 1' },
  declaration: {
    tandem:
      'interface Point {\n  x: number;\n  y: number;\n}\nfunction norm(p: Point): number {\n  return Math.hypot(p.x, p.y);\n}\nnorm({ x: 3, y: {run} })',
    python:
      'class Point(TypedDict):\n    x: float\n    y: float\ndef norm(p: Point) -> float:\n    return math.hypot(p["x"], p["y"])\nnorm({"x": 3, "y": {run}})',
  },
  flood: { tandem: "for (let i = 0; i < 5000; i++) console.log('line', i);", python: "for i in range(5000):\n    print('line', i)" },
};
const FLOOD_LINES = 5000;
const START_REPEATS = Number(process.env.BENCH_KERNEL_STARTS ?? 5);

const {
  starts,
  probes,
  medians: m,
  lines,
} = timeCells({
  starts: {
    repeats: START_REPEATS,
    kernels: { tandem: { name: 'tandem', first: CELLS.typed.tandem }, python: { name: 'python3', first: CELLS.typed.python } },
  },
  kernels: {
    tandem: { name: 'tandem', setup: [`import { sql } from '@tandem/kernel';\nawait sql\`${loadSql}\`;`] },
    python: {
      name: 'python3',
      setup: [
        `import duckdb, math, pandas as pd\nfrom typing import TypedDict\ncon = duckdb.connect()\ncon.execute("${loadSql}")\ndf = pd.read_parquet("${parquet}")`,
      ],
    },
  },
  probes: { pythonEngine: { kernel: 'python', code: 'print(con.execute("select version()").fetchone()[0])' } },
  timed: [
    { label: 'tandemTrivial', kernel: 'tandem', code: '1 + 1', repeats: 30 },
    { label: 'pythonTrivial', kernel: 'python', code: '1 + 1', repeats: 30 },
    { label: 'tandemTyped', kernel: 'tandem', code: CELLS.typed.tandem, repeats: 20 },
    { label: 'pythonTyped', kernel: 'python', code: CELLS.typed.python, repeats: 20 },
    { label: 'tandemDeclaration', kernel: 'tandem', code: CELLS.declaration.tandem, repeats: 20 },
    { label: 'pythonDeclaration', kernel: 'python', code: CELLS.declaration.python, repeats: 20 },
    { label: 'tandemFlood', kernel: 'tandem', code: CELLS.flood.tandem, repeats: 5 },
    { label: 'pythonFlood', kernel: 'python', code: CELLS.flood.python, repeats: 5 },
    // What users write: the result assigned, which is type-checked against the SDK's declarations.
    { label: 'tandemGroupBy', kernel: 'tandem', code: `const r = await sql\`${groupBySql}\`;\nr.numRows`, repeats: 5 },
    { label: 'pythonGroupBy', kernel: 'python', code: `r = con.execute("${groupBySql}").to_arrow_table()\nr.num_rows`, repeats: 5 },
    { label: 'tandemGroupByBare', kernel: 'tandem', code: `(await sql\`${groupBySql}\`).numRows`, repeats: 5 },
    { label: 'pandas', kernel: 'python', code: `g = df.groupby("k")["v"].agg(["mean", "count"])\nlen(g)`, repeats: 3 },
  ],
});

const { chunksToArrow } = await import(path.join(kernelDir, 'dist/src/sql/duckdb-to-arrow.js'));
const conversions = [];
for (let run = 0; run < 5; run++) {
  const result = await conn.run('select i::INTEGER as a, i * 0.5::DOUBLE as b, i::BIGINT as c from range(1000000) r(i)');
  const chunks = await result.fetchAllChunks();
  const start = performance.now();
  const table = chunksToArrow(result.columnNames(), result.columnTypes(), chunks);
  conversions.push(performance.now() - start);
  if (table.numRows !== 1_000_000) throw new Error('conversion lost rows');
}
const toArrow = median(conversions);

// The same GROUP BY through `sql()` in this process: the engine + Arrow part of the cell, without
// the kernel's per-cell TypeScript compile.
const { sql } = await import(path.join(kernelDir, 'dist/src/sql/sql.js'));
await sql(loadSql);
const inProcess = [];
for (let run = 0; run < 5; run++) {
  const start = performance.now();
  await sql(groupBySql);
  inProcess.push(performance.now() - start);
}
const sqlOnly = median(inProcess);

const sameEngine = probes.pythonEngine === nodeEngine;
console.log(`DuckDB engines: @duckdb/node-api ${nodeEngine}, Python duckdb ${probes.pythonEngine}${sameEngine ? '' : ' (DIFFERENT)'}`);
const ratio = (tandem, python) => `${(tandem / python).toFixed(2)}× (${ms(tandem)} vs ${ms(python)})`;
console.log(`kernel start, launch to the first kernel_info reply (median of ${START_REPEATS} starts each, alternating):`);
console.log(`  ipykernel ${ms(starts.python.start)}, Tandem ${ms(starts.tandem.start)}`);
verdict({
  bench: 'kernel',
  name: 'kernel start to kernel_info vs ipykernel',
  value: starts.tandem.start / starts.python.start,
  op: '<=',
  limit: 1,
  target: '≤ 1× ipykernel',
  measured: ratio(starts.tandem.start, starts.python.start),
});
console.log(
  `  first typed cell right after kernel_info (to its reply): ipykernel ${ms(starts.python.first)}, Tandem ${ms(starts.tandem.first)}; ` +
    `${(starts.tandem.first / starts.python.first).toFixed(2)}× (information)`,
);
console.log('cell round trips (median, jupyter_client, alternating; Tandem type-checks every cell):');
const cellVerdict = (label, name, limit) =>
  verdict({
    bench: 'kernel',
    name: `${name} vs ipykernel`,
    value: m[`tandem${label}`] / m[`python${label}`],
    op: '<=',
    limit,
    target: `≤ ${limit}× ipykernel`,
    measured: ratio(m[`tandem${label}`], m[`python${label}`]),
  });
cellVerdict('Trivial', 'trivial cell `1 + 1`', 1);
cellVerdict('Typed', 'cell declaring a typed const', 1.5);
cellVerdict('Declaration', 'cell declaring an interface and a function', 1.5);
const allLines = lines.tandemFlood.every((n) => n === FLOOD_LINES);
console.log(
  `${FLOOD_LINES.toLocaleString('en-US')}-line flood: lines delivered per run, Tandem ${lines.tandemFlood.join(', ')}; ipykernel ${lines.pythonFlood.join(', ')}`,
);
verdict({
  bench: 'kernel',
  name: `${FLOOD_LINES.toLocaleString('en-US')} console.log lines vs ipykernel print`,
  value: m.tandemFlood / m.pythonFlood,
  op: '<=',
  limit: 1,
  target: '≤ 1× ipykernel, every line delivered',
  measured: ratio(m.tandemFlood, m.pythonFlood),
  pass: allLines,
  note: allLines ? undefined : 'Tandem lost lines',
});
console.log(`GROUP BY k over ${ROWS.toLocaleString('en-US')} rows of one Parquet file (cell round trip, median of 5; Arrow results):`);
console.log(`  Python duckdb in ipykernel ${ms(m.pythonGroupBy)}, pandas ${ms(m.pandas)}`);
console.log(
  `  Tandem \`const r = await sql…\` ${ms(m.tandemGroupBy)}; bare \`(await sql…).numRows\` ${ms(m.tandemGroupByBare)} (information)`,
);
console.log(
  `  sql() in this process (no cell compile) ${ms(sqlOnly)}: ${(sqlOnly / m.pythonGroupBy).toFixed(2)}× the Python duckdb cell (information)`,
);
const groupBy = m.tandemGroupBy / m.pythonGroupBy;
verdict({
  bench: 'kernel',
  name: `GROUP BY ${ROWS.toLocaleString('en-US')} rows, sql cell vs Python duckdb`,
  value: groupBy,
  op: '<=',
  limit: 1.2,
  target: '≤ 1.2×',
  measured: `${groupBy.toFixed(2)}× (${ms(m.tandemGroupBy)} vs ${ms(m.pythonGroupBy)})`,
  pass: sameEngine,
  note: sameEngine ? undefined : `engines differ: node ${nodeEngine}, Python ${probes.pythonEngine}`,
});
const speedUp = m.pandas / m.tandemGroupBy;
verdict({
  bench: 'kernel',
  name: `GROUP BY ${ROWS.toLocaleString('en-US')} rows, sql cell vs pandas`,
  value: speedUp,
  op: '>=',
  limit: 10,
  target: '≥ 10× faster',
  measured: `${speedUp.toFixed(1)}× faster (${ms(m.tandemGroupBy)} vs ${ms(m.pandas)})`,
});
console.log('1M×3 DuckDB result → Apache Arrow (median of 5, in process):');
verdict({
  bench: 'kernel',
  name: '1M×3 result → Arrow',
  value: toArrow,
  op: '<=',
  limit: 100,
  target: '≤ 100 ms',
  measured: ms(toArrow),
});
