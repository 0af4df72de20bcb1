// `monitor` in cells: drift between a reference and a current dataset, on the kernel's DuckDB.
import { onInterrupt } from '../kernel/channel.js';
import { duckdb } from '../sql/sql.js';
import { driftReport, type DriftOptions, type DriftReport, type DriftSource } from './drift.js';
import { displayed } from './drift-view.js';

/**
 * monitor.drift('train.parquet', 'select * from predictions where day = current_date') — per-column
 * statistics and verdicts as Evidently's DataDriftPreset computes them, with the dataset's verdict.
 */
async function drift(reference: DriftSource, current: DriftSource, options?: DriftOptions): Promise<DriftReport> {
  const connection = await duckdb();
  // Interrupting the cell stops the running query, as for sql.
  const stopInterrupt = onInterrupt(() => connection.interrupt());
  try {
    return displayed(await driftReport(connection, reference, current, options));
  } finally {
    stopInterrupt();
  }
}

export const monitor = { drift };
