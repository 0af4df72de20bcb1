import type { Run } from './tracking.store.js';

/**
 * Runs as last read, each with the version it had (see migration 054), the least recently used
 * dropped past `capacity`. A search reads its page's ids with their versions, and only the runs
 * whose version moved since are read again: a runs table refreshed over a finished experiment
 * reads no run twice. Safe with several servers: the version is read from the database each time.
 */
export class RunCache {
  private readonly runs = new Map<string, { version: string; run: Run }>();

  constructor(private readonly capacity = 10_000) {}

  /** The run if it is kept at exactly `version`. */
  get(id: string, version: string): Run | undefined {
    const kept = this.runs.get(id);
    if (kept?.version !== version) return undefined;
    // Map order is insertion order: moving it to the end keeps the oldest first for eviction.
    this.runs.delete(id);
    this.runs.set(id, kept);
    return kept.run;
  }

  set(run: Run, version: string): void {
    this.runs.delete(run.id);
    this.runs.set(run.id, { version, run });
    if (this.runs.size > this.capacity) this.runs.delete(this.runs.keys().next().value!);
  }
}
