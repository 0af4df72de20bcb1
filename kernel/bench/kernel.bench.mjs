// Kernel benchmarks (run by `npm run bench`, or `node kernel/bench/kernel.bench.mjs`). Every figure
// is measured against its peer in the same run, through jupyter_client like a notebook:
//  1. trivial cell round trip, Tandem vs ipykernel (target ≤ 1.5×);
//  2. GROUP BY over BENCH_ROWS (default 10M) rows: `sql` vs Python duckdb in ipykernel (≤ 1.2×)
//     and vs pandas (≥ 10× faster);
//  3. a 1M×3 DuckDB result converted to Arrow, in process (≤ 100 ms).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const kernelDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(kernelDir, '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const python = process.env.TANDEM_PYTHON ?? [path.join(repoRoot, '.venv/bin/python'), '/tmp/warm/venv/bin/python'].find(existsSync);

// Not node_modules/.bin/tsc: tslab's private TypeScript 5.0 can win that link.
const build = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b', kernelDir], { stdio: 'inherit' });
if (build.status !== 0) throw new Error('building the kernel failed');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(1)} ms`;
const verdict = (ok) => (ok ? 'PASS' : 'FAIL');

function timeCells(kernel, setup, timed) {
  const out = execFileSync(python, [path.join(kernelDir, 'bench/time_cells.py')], {
    input: JSON.stringify({ kernel, cwd: repoRoot, setup, timed }),
    env: { ...process.env, JUPYTER_PATH: path.join(repoRoot, 'jupyter-config/data') },
    maxBuffer: 64 * 1024 * 1024,
  });
  return Object.fromEntries(Object.entries(JSON.parse(out.toString())).map(([k, v]) => [k, median(v)]));
}

const dataSql = `create or replace table t as select (i % 1000)::INTEGER as k, random() as v from range(${ROWS}) r(i)`;
const groupBySql = 'select k, avg(v) as mean_v, count(*) as n from t group by k';

const tandem = timeCells('tandem', [`import { sql } from '@tandem/kernel';\nawait sql\`${dataSql}\`;`], {
  trivial: ['1 + 1', 30],
  groupBy: [`(await sql\`${groupBySql}\`).numRows`, 5],
  // A cell that declares a variable also pays tslab's TypeScript rebuild for the new declaration.
  groupByAssigned: [`const r = await sql\`${groupBySql}\`;\nr.numRows`, 5],
});
const ipykernel = timeCells(
  'python3',
  [`import duckdb, numpy as np, pandas as pd\ncon = duckdb.connect()\ncon.execute("${dataSql}")\ndf = con.execute("select * from t").df()`],
  {
    trivial: ['1 + 1', 30],
    groupBy: [`r = con.execute("${groupBySql}").to_arrow_table()\nr.num_rows`, 5],
    pandas: [`g = df.groupby("k")["v"].agg(["mean", "count"])\nlen(g)`, 3],
  },
);

const { DuckDBInstance } = await import('@duckdb/node-api');
const { chunksToArrow } = await import(path.join(kernelDir, 'dist/src/sql/duckdb-to-arrow.js'));
const conn = await (await DuckDBInstance.create(':memory:')).connect();
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
await sql(dataSql);
const inProcess = [];
for (let run = 0; run < 5; run++) {
  const start = performance.now();
  await sql(groupBySql);
  inProcess.push(performance.now() - start);
}
const sqlOnly = median(inProcess);

console.log('trivial cell round trip (median of 30, jupyter_client):');
console.log(`  ipykernel ${ms(ipykernel.trivial)}, Tandem ${ms(tandem.trivial)}`);
console.log(
  `  ratio Tandem/ipykernel = ${(tandem.trivial / ipykernel.trivial).toFixed(2)} (target ≤ 1.5) ${verdict(tandem.trivial <= 1.5 * ipykernel.trivial)}`,
);
console.log(`GROUP BY k over ${ROWS.toLocaleString('en-US')} rows (cell round trip, median of 5; Arrow results):`);
console.log(`  Python duckdb in ipykernel ${ms(ipykernel.groupBy)}, pandas ${ms(ipykernel.pandas)}, Tandem sql ${ms(tandem.groupBy)}`);
console.log(
  `  sql() in process (no cell compile) ${ms(sqlOnly)}; ratio to Python duckdb cell = ${(sqlOnly / ipykernel.groupBy).toFixed(2)}`,
);
console.log(
  `  ratio Tandem/Python duckdb = ${(tandem.groupBy / ipykernel.groupBy).toFixed(2)} (target ≤ 1.2) ${verdict(tandem.groupBy <= 1.2 * ipykernel.groupBy)}`,
);
console.log(
  `  the same cell assigning the result (\`const r = await sql…\`) ${ms(tandem.groupByAssigned)}: ratio ${(tandem.groupByAssigned / ipykernel.groupBy).toFixed(2)}, the extra is TypeScript compile time`,
);
console.log(
  `  speed-up vs pandas = ${(ipykernel.pandas / tandem.groupBy).toFixed(1)}× (target ≥ 10×) ${verdict(ipykernel.pandas >= 10 * tandem.groupBy)}`,
);
console.log('1M×3 DuckDB result → Apache Arrow (median of 5, in process):');
console.log(`  ${ms(toArrow)}; ratio to target = ${(toArrow / 100).toFixed(2)} (target ≤ 100 ms) ${verdict(toArrow <= 100)}`);
