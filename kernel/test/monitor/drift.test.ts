import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotOf } from '../../src/display/mime-bundle.js';
import { driftReport, type DriftOptions } from '../../src/monitor/drift.js';
import { monitor } from '../../src/monitor/monitor.js';
import { duckdb } from '../../src/sql/sql.js';
import { pythonBin } from '../support/jupyter.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/evidently_drift.py');

/** mulberry32: the same data on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Value = number | string | null;

function sample(n: number, seed: number, shifted: boolean): Record<string, Value[]> {
  const u = random(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const pick = (options: string[], weights: number[]) => {
    let x = u() * weights.reduce((a, b) => a + b, 0);
    return options.find((_, i) => (x -= weights[i]) < 0) ?? options[options.length - 1];
  };
  const rows = Array.from({ length: n }, () => ({
    shifted: normal() + (shifted ? 0.4 : 0),
    stable: normal() * 3 + 10,
    // Whole numbers from 0 to 40: ties, and values lying exactly on histogram edges.
    counts: Math.floor(u() * 41) + (shifted ? Math.floor(u() * 3) : 0),
    levels: Math.floor(u() * 4),
    flag: u() < (shifted ? 0.6 : 0.5) ? 1 : 0,
    gappy: u() < 0.15 ? null : normal() * 2 + (shifted ? 0.3 : 0),
    colour: shifted ? pick(['red', 'green', 'blue', 'violet'], [3, 3, 3, 1]) : pick(['red', 'green', 'blue'], [4, 3, 3]),
    side: pick(['left', 'right'], shifted ? [5, 5] : [6, 4]),
    city: u() < 0.1 ? null : pick(['oslo', 'rome', 'lima', 'pune', 'kyiv'], [1, 1, 1, 1, 1]),
  }));
  return Object.fromEntries(Object.keys(rows[0]).map((k) => [k, rows.map((r) => r[k as keyof typeof r])]));
}

const NUMERIC = ['shifted', 'stable', 'counts', 'levels', 'flag', 'gappy'];
const CATEGORICAL = ['colour', 'side', 'city'];

async function writeCsv(file: string, data: Record<string, Value[]>): Promise<void> {
  const names = Object.keys(data);
  const lines = data[names[0]].map((_, i) => names.map((n) => (data[n][i] === null ? '' : String(data[n][i]))).join(','));
  await writeFile(file, `${names.join(',')}\n${lines.join('\n')}\n`);
}

interface EvidentlyColumn {
  statistic: number;
  method: string;
  threshold: number;
  drifted: boolean;
}
type EvidentlyRun = { share: number; columns: Record<string, EvidentlyColumn> }[];

/** Evidently's names for the methods, as its report shows them (display names for its default choices). */
const EVIDENTLY_NAMES: Record<string, string[]> = {
  ks: ['ks', 'K-S p_value'],
  wasserstein: ['wasserstein', 'Wasserstein distance (normed)'],
  psi: ['psi', 'PSI'],
  jensenshannon: ['jensenshannon', 'Jensen-Shannon distance'],
  chisquare: ['chisquare', 'chi-square p_value'],
  z: ['z', 'Z-test p_value'],
};

// [numeric method, categorical method]; null is Evidently's (and Tandem's) default choice.
const METHODS: [string | null, string | null][] = [
  [null, null],
  ['psi', 'psi'],
  ['jensenshannon', 'jensenshannon'],
  ['wasserstein', 'chisquare'],
  ['ks', 'z'],
];

/**
 * Tolerance: 1e-9 relative for every statistic, or 1e-14 absolute. Both sides compute the same
 * formulas in doubles; differences come from summation order and from separate implementations of
 * the special functions. The absolute floor is for KS p-values of unequal samples, which both (as
 * scipy) get as 1 − P(path stays inside), so tiny ones carry ~1e-16 absolute rounding.
 */
function expectClose(actual: number | null, expected: number, label: string): void {
  expect(actual, label).not.toBeNull();
  expect(Math.abs(actual! - expected), `${label}: ${actual} vs Evidently ${expected}`).toBeLessThanOrEqual(
    Math.max(1e-14, 1e-9 * Math.abs(expected)),
  );
}

describe('drift reports match Evidently 0.7 on the same data', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-drift-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function compare(name: string, n1: number, n2: number, seed: number, format: 'csv' | 'parquet'): Promise<void> {
    const files = { reference: path.join(dir, `${name}-ref.csv`), current: path.join(dir, `${name}-cur.csv`) };
    await writeCsv(files.reference, sample(n1, seed, false));
    await writeCsv(files.current, sample(n2, seed + 1, true));
    const spec = path.join(dir, `${name}-spec.json`);
    await writeFile(spec, JSON.stringify({ numerical: NUMERIC, categorical: CATEGORICAL, methods: METHODS }));
    const evidently = promisify(execFile)(pythonBin(), [script, files.reference, files.current, spec], { maxBuffer: 1 << 24 });

    const connection = await duckdb();
    const sources = { ...files };
    if (format === 'parquet') {
      for (const side of ['reference', 'current'] as const) {
        sources[side] = files[side].replace(/\.csv$/, '.parquet');
        await connection.run(`COPY (SELECT * FROM '${files[side]}') TO '${sources[side]}' (FORMAT parquet)`);
      }
    }
    const expected = JSON.parse((await evidently).stdout) as EvidentlyRun;
    for (const [i, [num, cat]] of METHODS.entries()) {
      const method = { numeric: num ?? undefined, categorical: cat ?? undefined } as DriftOptions['method'];
      const ours = await driftReport(connection, sources.reference, sources.current, { method });
      const theirs = expected[i];
      for (const row of ours.columns) {
        const label = `${name} ${num}/${cat} ${row.column}`;
        const want = theirs.columns[row.column];
        expect(EVIDENTLY_NAMES[row.method!], label).toContain(want.method);
        expectClose(row.statistic, want.statistic, label);
        expect(row.threshold, label).toBe(want.threshold);
        expect(row.drifted, label).toBe(want.drifted);
      }
      expect(ours.share, `${name} ${num}/${cat} share`).toBeCloseTo(theirs.share, 12);
      expect(ours.datasetDrift, `${name} ${num}/${cat} dataset drift`).toBe(theirs.share >= 0.5);
    }
  }

  it('agrees on 200 reference and 200 current rows (KS, chi-squared and Z by default)', async () => {
    await compare('small', 200, 200, 1, 'csv');
  });

  it('agrees on samples of different sizes, 200 and 260 rows', async () => {
    await compare('uneven', 200, 260, 11, 'csv');
  });

  it('agrees on 5,000 rows per side read from Parquet (Wasserstein and Jensen–Shannon by default)', async () => {
    await compare('large', 5000, 5000, 21, 'parquet');
  });

  it('approximates scipy’s KS p-value within 1% relative above 10,000 rows, where scipy leaves the exact method', async () => {
    const normal = random(31);
    const column = (n: number, shift: number) =>
      Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - normal())) * Math.cos(2 * Math.PI * normal()) + shift);
    const files = [path.join(dir, 'ks-ref.csv'), path.join(dir, 'ks-cur.csv')];
    await writeCsv(files[0], { x: column(12_000, 0) });
    await writeCsv(files[1], { x: column(15_000, 0.015) });
    const check = 'import sys, numpy, scipy.stats as s; print(s.ks_2samp(*(numpy.loadtxt(f, skiprows=1) for f in sys.argv[1:])).pvalue)';
    const scipy = Number((await promisify(execFile)(pythonBin(), ['-c', check, ...files])).stdout);
    const report = await driftReport(await duckdb(), files[0], files[1], { method: 'ks' });
    expect(scipy).toBeGreaterThan(0.001);
    expect(Math.abs(report.columns[0].statistic! - scipy) / scipy).toBeLessThan(0.01);
  });
});

describe('drift reports on bad input', () => {
  const reference = arrow.tableFromArrays({ x: Float64Array.from([1, 2, 3, 4]), c: ['a', 'b', 'a', 'b'] });
  const current = arrow.tableFromArrays({ x: Float64Array.from([2, 3, 4, 5]), c: ['a', 'a', 'a', 'b'] });

  it('names the bad option', async () => {
    const connection = await duckdb();
    await expect(driftReport(connection, reference, current, { method: 'kl' as 'ks' })).rejects.toThrow(/option "method" must be one of/);
    await expect(driftReport(connection, reference, current, { method: { categorical: 'ks' } })).rejects.toThrow(
      /option "method.categorical": ks applies/,
    );
    await expect(driftReport(connection, reference, current, { columns: [] })).rejects.toThrow(/option "columns"/);
    await expect(driftReport(connection, reference, current, { threshold: Number.NaN })).rejects.toThrow(/option "threshold"/);
    await expect(driftReport(connection, reference, current, { colums: ['x'] } as object)).rejects.toThrow(/unknown option "colums"/);
  });

  it('names an unknown column and the side that lacks it', async () => {
    await expect(driftReport(await duckdb(), reference, current, { columns: ['x', 'y'] })).rejects.toThrow(
      /unknown column "y".*reference and current/,
    );
  });

  it('refuses mismatched schemas unless the shared columns are chosen', async () => {
    const connection = await duckdb();
    const wider = arrow.tableFromArrays({ x: Float64Array.from([1, 2]), c: ['a', 'b'], extra: Float64Array.from([1, 2]) });
    await expect(driftReport(connection, reference, wider)).rejects.toThrow(/only in the current data: extra/);
    expect((await driftReport(connection, reference, wider, { columns: ['x'] })).columns).toHaveLength(1);
    const retyped = arrow.tableFromArrays({ x: ['1', '2'], c: ['a', 'b'] });
    await expect(driftReport(connection, reference, retyped)).rejects.toThrow(/column "x" is DOUBLE in the reference but VARCHAR/);
  });

  it('refuses empty tables', async () => {
    const connection = await duckdb();
    await expect(driftReport(connection, reference, `SELECT x::DOUBLE AS x, 'a' AS c FROM range(3) t(x) WHERE x > 5`)).rejects.toThrow(
      /current data has no rows/,
    );
  });

  it('reports an all-null column, or a method that does not fit, as not computed without counting it', async () => {
    const connection = await duckdb();
    const blank = 'SELECT x::DOUBLE AS x, CAST(NULL AS VARCHAR) AS c FROM range(4) t(x)';
    const report = await driftReport(connection, blank, current);
    const c = report.columns.find((r) => r.column === 'c')!;
    expect(c).toMatchObject({ drifted: null, statistic: null, reason: 'no non-null values in the reference' });
    expect(report.share).toBe(report.driftedColumns);
    const ks = await driftReport(connection, reference, current, { method: 'ks' });
    expect(ks.columns.find((r) => r.column === 'c')).toMatchObject({ drifted: null, reason: 'ks applies to numeric columns only' });
    expect(Number.isNaN(ks.share)).toBe(false);
  });
});

describe('monitor.drift in cells', () => {
  it('shows the verdict above a table of the columns, with the report’s data unchanged', async () => {
    const reference = arrow.tableFromArrays({
      x: Float64Array.from({ length: 50 }, (_, i) => i),
      c: Array.from({ length: 50 }, (_, i) => (i % 2 ? 'a' : 'b')),
    });
    const current = arrow.tableFromArrays({
      x: Float64Array.from({ length: 50 }, (_, i) => i + 30),
      c: Array.from({ length: 50 }, (_, i) => (i % 2 ? 'a' : 'b')),
    });
    const report = await monitor.drift(reference, current);
    expect(report.columns.map((c) => [c.column, c.method, c.drifted])).toEqual([
      ['x', 'ks', true],
      ['c', 'z', false],
    ]);
    const shown = snapshotOf(report);
    expect(shown['text/plain']).toMatch(/^Drift in 1 of 2 columns \(50%\): dataset drift \(at 50% of columns\)\ncolumn/);
    expect(shown['text/html']).toContain('<td>ks</td>');
    expect(JSON.parse(JSON.stringify(report)).columns).toHaveLength(2);
  });
});
