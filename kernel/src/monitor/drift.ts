// Data drift between a reference and a current dataset, per column, with Evidently 0.7's
// statistics, default method choice and thresholds (DataDriftPreset), so that reports agree with
// it. Aggregates run in DuckDB (column-stats.ts); only per-value or per-bin counts reach the kernel.
import type { DuckDBConnection } from '@duckdb/node-api';
import { cdfDistances, histogram, numericSummary, valueCounts, type Sides } from './column-stats.js';
import { chiSquaredSurvival, ksPValue, normalCdf } from './distributions.js';
import { dropAll, NUMERIC_TYPES, rowCount, schemaOf, viewOf, type Source } from './sources.js';

export type DriftSource = Source;

export const DRIFT_METHODS = ['wasserstein', 'ks', 'psi', 'jensenshannon', 'chisquare', 'z'] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];

interface MethodInfo {
  /** Evidently's default threshold. */
  threshold: number;
  /** p-values drift below the threshold, distances at or above it. */
  drifted: (statistic: number, threshold: number) => boolean;
  numeric: boolean;
  categorical: boolean;
}

const METHODS: Record<DriftMethod, MethodInfo> = {
  wasserstein: { threshold: 0.1, drifted: (s, t) => s >= t, numeric: true, categorical: false },
  // Evidently's KS test drifts at p <= threshold, its chi-squared and Z tests at p < threshold.
  ks: { threshold: 0.05, drifted: (s, t) => s <= t, numeric: true, categorical: false },
  psi: { threshold: 0.1, drifted: (s, t) => s >= t, numeric: true, categorical: true },
  jensenshannon: { threshold: 0.1, drifted: (s, t) => s >= t, numeric: true, categorical: true },
  chisquare: { threshold: 0.05, drifted: (s, t) => s < t, numeric: true, categorical: true },
  z: { threshold: 0.05, drifted: (s, t) => s < t, numeric: true, categorical: true },
};

export interface DriftOptions {
  /** Columns to compare (default: all; both sides must then have the same columns). */
  columns?: string[];
  /**
   * One method for every column, or one per column type (default: Evidently's choice by type, size
   * and distinct values). A single numeric-only method leaves categorical columns not computed.
   */
  method?: DriftMethod | { numeric?: DriftMethod; categorical?: DriftMethod };
  /** Drift threshold for every column (default: the method's). */
  threshold?: number;
  /** Share of drifted columns at which the dataset drifts (default 0.5). */
  driftShare?: number;
}

export type ColumnKind = 'numeric' | 'categorical';

export interface ColumnDrift {
  column: string;
  /** How the column is compared, from its DuckDB type; null for types drift is not computed for. */
  type: ColumnKind | null;
  method: DriftMethod | null;
  /** A p-value (ks, chisquare, z) or a distance (wasserstein, psi, jensenshannon). */
  statistic: number | null;
  threshold: number | null;
  /** null when not computed; `reason` says why. */
  drifted: boolean | null;
  reason?: string;
  /** Non-null (and for numbers finite) values compared on each side. */
  referenceRows: number;
  currentRows: number;
}

export interface DriftReport {
  columns: ColumnDrift[];
  /** Drifted columns among those computed, and their share of them (null when none was computed). */
  driftedColumns: number;
  share: number | null;
  driftShare: number;
  datasetDrift: boolean | null;
  referenceRows: number;
  currentRows: number;
}

const KNOWN_OPTIONS = new Set(['columns', 'method', 'threshold', 'driftShare']);

interface Validated {
  columns?: string[];
  methods: Partial<Record<ColumnKind, DriftMethod>>;
  threshold?: number;
  driftShare: number;
}

function checkMethod(value: unknown, option: string): DriftMethod {
  if (!(DRIFT_METHODS as readonly unknown[]).includes(value)) {
    throw new TypeError(`drift(): option "${option}" must be one of ${DRIFT_METHODS.join(', ')}, not ${JSON.stringify(value)}`);
  }
  return value as DriftMethod;
}

function validateMethod(method: DriftOptions['method']): Validated['methods'] {
  if (method === undefined) return {};
  if (typeof method !== 'object' || method === null) {
    const one = checkMethod(method, 'method');
    return { numeric: one, categorical: one };
  }
  const methods: Validated['methods'] = {};
  for (const [kind, value] of Object.entries(method)) {
    if (kind !== 'numeric' && kind !== 'categorical')
      throw new TypeError(`drift(): option "method" takes numeric and categorical, not "${kind}"`);
    if (value === undefined) continue;
    const chosen = checkMethod(value, `method.${kind}`);
    if (!METHODS[chosen][kind]) throw new TypeError(`drift(): option "method.${kind}": ${chosen} applies to numeric columns only`);
    methods[kind] = chosen;
  }
  return methods;
}

function validate(options: DriftOptions): Validated {
  if (typeof options !== 'object' || options === null) throw new TypeError('drift(): options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`drift(): unknown option "${key}" (known: ${[...KNOWN_OPTIONS].join(', ')})`);
  }
  const { columns, method, threshold, driftShare = 0.5 } = options;
  if (columns !== undefined) {
    if (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== 'string' || c === '')) {
      throw new TypeError('drift(): option "columns" must be a non-empty array of column names');
    }
    const repeated = columns.find((c, i) => columns.indexOf(c) !== i);
    if (repeated !== undefined) throw new TypeError(`drift(): option "columns" names "${repeated}" twice`);
  }
  if (threshold !== undefined && !(typeof threshold === 'number' && Number.isFinite(threshold) && threshold > 0)) {
    throw new TypeError(`drift(): option "threshold" must be a positive number, not ${JSON.stringify(threshold)}`);
  }
  if (!(typeof driftShare === 'number' && driftShare > 0 && driftShare <= 1)) {
    throw new TypeError(`drift(): option "driftShare" must be a number in (0, 1], not ${JSON.stringify(driftShare)}`);
  }
  return { columns, methods: validateMethod(method), threshold, driftShare };
}

const CATEGORICAL_TYPES = /^(VARCHAR|BOOLEAN|ENUM)/;

function kindOf(duckType: string): ColumnKind | null {
  if (NUMERIC_TYPES.test(duckType)) return 'numeric';
  if (CATEGORICAL_TYPES.test(duckType)) return 'categorical';
  return null;
}

/** Evidently's default: by reference size (1,000 rows), type and the distinct values of both sides. */
function defaultMethod(kind: ColumnKind, referenceRows: number, unique: number): DriftMethod {
  if (referenceRows <= 1000) {
    if (kind === 'categorical' || unique <= 5) return unique > 2 ? 'chisquare' : 'z';
    return 'ks';
  }
  if (kind === 'categorical' || unique <= 5) return 'jensenshannon';
  return 'wasserstein';
}

/** Shares per key or bin; with `fillZeros`, empty ones get Evidently's small stand-in so PSI stays finite. */
function shares(counts: number[], total: number, fillZeros: boolean): number[] {
  const p = counts.map((c) => c / total);
  if (!fillZeros) return p;
  const smallest = Math.min(...p.filter((x) => x !== 0));
  const fill = smallest <= 0.0001 ? smallest / 1e6 : 0.0001;
  return p.map((x) => (x === 0 ? fill : x));
}

const psi = (p: number[], q: number[]) => p.reduce((sum, pi, i) => sum + (pi - q[i]) * Math.log(pi / q[i]), 0);

/** scipy's jensenshannon (natural log): both vectors normalized, the square root of the mean KL divergence to their midpoint. */
function jensenShannon(p: number[], q: number[]): number {
  const sp = p.reduce((a, b) => a + b, 0);
  const sq = q.reduce((a, b) => a + b, 0);
  let total = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    if (a > 0) total += a * Math.log(a / m);
    if (b > 0) total += b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(0, total / 2));
}

/** Pearson's chi-squared p-value of current counts against reference counts scaled to the current total. */
function chiSquared(reference: number[], current: number[], n1: number, n2: number): number {
  let statistic = 0;
  for (let i = 0; i < reference.length; i++) {
    const expected = (reference[i] * n2) / n1;
    // A category new in the current data has no expected count: infinitely unlikely, p = 0 (as scipy).
    statistic += expected === 0 ? Infinity : (current[i] - expected) ** 2 / expected;
  }
  return chiSquaredSurvival(statistic, reference.length - 1);
}

/**
 * Two-proportion Z test on the share of the smallest value (the counts come sorted) against all
 * others, as Evidently computes it, including its 2·(1 − Φ(|z|)).
 */
function zTest(reference: number[], current: number[], n1: number, n2: number): number {
  if (reference.length === 1) return 1;
  const p1 = reference[0] / n1;
  const p2 = current[0] / n2;
  const pooled = (reference[0] + current[0]) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return 2 * (1 - normalCdf(Math.abs(z)));
}

/** numpy's Sturges bin edges over both sides: ceil(ptp / (ptp / (log2(n) + 1))) equal-width bins, as linspace. */
function sturgesEdges(min: number, max: number, n: number): number[] {
  const ptp = max - min;
  const bins = Math.ceil(ptp / (ptp / (Math.log2(n) + 1)));
  const step = ptp / bins;
  return Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : i * step + min));
}

interface Computed {
  method: DriftMethod;
  statistic: number;
  referenceRows: number;
  currentRows: number;
}

async function computeColumn(
  connection: DuckDBConnection,
  sides: Sides,
  column: string,
  kind: ColumnKind,
  chosen: DriftMethod | undefined,
): Promise<Computed | { reason: string; referenceRows: number; currentRows: number }> {
  const numeric = kind === 'numeric';
  const summary = numeric ? await numericSummary(connection, sides, column) : undefined;
  const counts = summary ? undefined : await valueCounts(connection, sides, column, false);
  const n1 = summary?.referenceRows ?? counts!.reference.reduce((a, b) => a + b, 0);
  const n2 = summary?.currentRows ?? counts!.current.reduce((a, b) => a + b, 0);
  const notComputed = (reason: string) => ({ reason, referenceRows: n1, currentRows: n2 });
  const valuesWord = numeric ? 'finite values' : 'values';
  if (n1 === 0) return notComputed(`no non-null ${valuesWord} in the reference`);
  if (n2 === 0) return notComputed(`no non-null ${valuesWord} in the current data`);
  const unique = summary?.unique ?? counts!.values.length;
  const method = chosen ?? defaultMethod(kind, n1, unique);
  if (!METHODS[method][kind]) return notComputed(`${method} applies to numeric columns only`);
  const done = (statistic: number): Computed => ({ method, statistic, referenceRows: n1, currentRows: n2 });

  if (method === 'ks' || method === 'wasserstein') {
    const { ksNumerator, wasserstein } = await cdfDistances(connection, sides, column, n1, n2);
    return done(method === 'ks' ? ksPValue(ksNumerator, n1, n2) : wasserstein / Math.max(summary!.referenceStd, 0.001));
  }
  const byValue = async () => counts ?? (await valueCounts(connection, sides, column, true));
  if (method === 'chisquare') {
    const { values, reference, current } = await byValue();
    if (values.length < 2) return notComputed('chi-squared needs at least two distinct values');
    return done(chiSquared(reference, current, n1, n2));
  }
  if (method === 'z') {
    const { reference, current } = await byValue();
    return done(zTest(reference, current, n1, n2));
  }
  // PSI and Jensen–Shannon: Sturges histogram bins of both sides for a numeric column with more
  // than 20 distinct reference values, otherwise one bin per distinct value (Evidently's binning).
  const binned =
    summary && summary.referenceUnique > 20
      ? await histogram(connection, sides, column, sturgesEdges(summary.min, summary.max, n1 + n2))
      : await byValue();
  const fill = method === 'psi';
  const p = shares(binned.reference, n1, fill);
  const q = shares(binned.current, n2, fill);
  return done(method === 'psi' ? psi(p, q) : jensenShannon(p, q));
}

/**
 * Compares `current` to `reference` column by column, on the kernel's DuckDB `connection`.
 * Columns that cannot be compared (no values on a side, an unsupported type, a method that does
 * not apply) come back with `drifted: null` and a `reason`, and do not count towards the share.
 */
export async function driftReport(
  connection: DuckDBConnection,
  reference: DriftSource,
  current: DriftSource,
  options: DriftOptions = {},
): Promise<DriftReport> {
  const { columns: wanted, methods, threshold, driftShare } = validate(options);
  const temporary: string[] = [];
  try {
    const sides = {
      reference: await viewOf(connection, reference, { caller: 'drift()', side: 'reference' }, temporary),
      current: await viewOf(connection, current, { caller: 'drift()', side: 'current' }, temporary),
    };
    const [refSchema, curSchema] = [await schemaOf(connection, sides.reference), await schemaOf(connection, sides.current)];
    const columns = wanted ?? [...refSchema.keys()];
    for (const c of wanted ?? []) {
      const missing = [refSchema.has(c) ? undefined : 'reference', curSchema.has(c) ? undefined : 'current'].filter(Boolean);
      if (missing.length > 0) {
        throw new Error(
          `drift(): unknown column "${c}" in option "columns": the ${missing.join(' and ')} has no such column (reference has ${[...refSchema.keys()].join(', ')})`,
        );
      }
    }
    if (!wanted) {
      const extra = [...curSchema.keys()].filter((c) => !refSchema.has(c));
      const lacking = columns.filter((c) => !curSchema.has(c));
      if (extra.length > 0 || lacking.length > 0) {
        throw new Error(
          `drift(): the reference and current schemas differ (${[lacking.length ? `only in the reference: ${lacking.join(', ')}` : '', extra.length ? `only in the current data: ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}); pass option "columns" to compare the shared ones`,
        );
      }
    }
    const [referenceRows, currentRows] = [await rowCount(connection, sides.reference), await rowCount(connection, sides.current)];
    if (referenceRows === 0) throw new Error('drift(): the reference has no rows');
    if (currentRows === 0) throw new Error('drift(): the current data has no rows');

    const results: ColumnDrift[] = [];
    for (const column of columns) {
      const refKind = kindOf(refSchema.get(column)!);
      const curKind = kindOf(curSchema.get(column)!);
      const row = {
        column,
        type: refKind,
        method: null,
        statistic: null,
        threshold: null,
        drifted: null,
        referenceRows: 0,
        currentRows: 0,
      };
      if (refKind === null || curKind === null) {
        const type = refKind === null ? refSchema.get(column) : curSchema.get(column);
        results.push({ ...row, reason: `drift is computed for numeric and categorical columns, not ${type}` });
        continue;
      }
      if (refKind !== curKind) {
        throw new Error(
          `drift(): column "${column}" is ${refSchema.get(column)} in the reference but ${curSchema.get(column)} in the current data`,
        );
      }
      const computed = await computeColumn(connection, sides, column, refKind, methods[refKind]);
      if ('reason' in computed) {
        results.push({ ...row, ...computed });
        continue;
      }
      const limit = threshold ?? METHODS[computed.method].threshold;
      results.push({ ...row, ...computed, threshold: limit, drifted: METHODS[computed.method].drifted(computed.statistic, limit) });
    }
    const computed = results.filter((r) => r.drifted !== null);
    const driftedColumns = computed.filter((r) => r.drifted).length;
    const share = computed.length > 0 ? driftedColumns / computed.length : null;
    return {
      columns: results,
      driftedColumns,
      share,
      driftShare,
      datasetDrift: share === null ? null : share >= driftShare,
      referenceRows,
      currentRows,
    };
  } finally {
    await dropAll(connection, temporary);
  }
}
