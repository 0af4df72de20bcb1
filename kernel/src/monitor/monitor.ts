// `monitor` and `check` in cells: drift between two datasets, data quality and data checks, on the kernel's DuckDB.
import type { DuckDBConnection } from '@duckdb/node-api';
import { onInterrupt } from '../kernel/channel.js';
import { duckdb } from '../sql/sql.js';
import { DataChecks } from './checks.js';
import { shownChecks } from './checks-view.js';
import { driftReport, type DriftOptions, type DriftReport, type DriftSource } from './drift.js';
import { displayed } from './drift-view.js';
import { qualityReport, type QualityOptions, type QualityReport } from './quality.js';
import { shownQuality } from './quality-view.js';
import type { Source } from './sources.js';

/** Runs work on the kernel's DuckDB; interrupting the cell stops the running query, as for sql. */
async function withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const connection = await duckdb();
  const stopInterrupt = onInterrupt(() => connection.interrupt());
  try {
    return await work(connection);
  } finally {
    stopInterrupt();
  }
}

/**
 * monitor.drift('train.parquet', 'select * from predictions where day = current_date') — per-column
 * statistics and verdicts as Evidently's DataDriftPreset computes them, with the dataset's verdict.
 */
async function drift(reference: DriftSource, current: DriftSource, options?: DriftOptions): Promise<DriftReport> {
  return displayed(await withConnection((connection) => driftReport(connection, reference, current, options)));
}

/**
 * monitor.quality('predictions.parquet', { reference: 'train.parquet' }) — per column nulls,
 * distinct values and ranges, duplicate rows; with a reference, values outside its range and
 * categories it never had.
 */
async function quality(source: Source, options?: QualityOptions): Promise<QualityReport> {
  return shownQuality(await withConnection((connection) => qualityReport(connection, source, options)));
}

export const monitor = { drift, quality };

/**
 * check('orders.parquet').notNull('id').unique('id').between('amount', 0, 10_000) — awaited, a
 * table of the checks and their offending rows; `.assert()` fails the cell when one fails.
 */
export function check(source: Source): DataChecks {
  return new DataChecks(withConnection, source, shownChecks);
}
