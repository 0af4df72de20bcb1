import type { VersionTraffic } from '../api/index.js';

/** The window the live figures cover (seconds). */
export const WINDOW_SECONDS = 60;
/** Latency buckets grow by this factor from 0.05 ms: 0.05 × 1.2^91 ms is over 13 minutes, past the longest timeout (10). */
const GROWTH = 1.2;
const FIRST_MS = 0.05;
const BUCKETS = 92;

interface Counts {
  requests: number;
  errors: number;
  latency: Uint32Array;
}

interface Second {
  at: number;
  byVersion: Map<number | null, Counts>;
}

/**
 * The requests of one split over the last minute, per version, in one-second slots: what the
 * model page shows live (rate, errors, p50/p95). Recording is a few array writes, since it runs
 * on every prediction; Prometheus keeps the long history.
 */
export class RecentTraffic {
  private readonly seconds: (Second | undefined)[] = new Array<Second | undefined>(WINDOW_SECONDS);

  record(version: number | null, ms: number, ok: boolean, now = Date.now()): void {
    const at = Math.floor(now / 1000);
    const slot = at % WINDOW_SECONDS;
    let second = this.seconds[slot];
    if (second?.at !== at) this.seconds[slot] = second = { at, byVersion: new Map() };
    let counts = second.byVersion.get(version);
    if (!counts) second.byVersion.set(version, (counts = { requests: 0, errors: 0, latency: new Uint32Array(BUCKETS) }));
    counts.requests++;
    if (!ok) counts.errors++;
    counts.latency[bucketOf(ms)]!++;
  }

  /** Per version, over the seconds of the window that have passed (the current one is still filling). */
  summary(now = Date.now()): VersionTraffic[] {
    const current = Math.floor(now / 1000);
    const merged = new Map<number | null, Counts>();
    for (const second of this.seconds) {
      if (!second || second.at >= current || second.at < current - WINDOW_SECONDS) continue;
      for (const [version, counts] of second.byVersion) {
        let into = merged.get(version);
        if (!into) merged.set(version, (into = { requests: 0, errors: 0, latency: new Uint32Array(BUCKETS) }));
        into.requests += counts.requests;
        into.errors += counts.errors;
        for (let i = 0; i < BUCKETS; i++) into.latency[i]! += counts.latency[i]!;
      }
    }
    return [...merged]
      .map(([version, counts]) => ({
        version,
        requests: counts.requests,
        requestsPerSecond: counts.requests / WINDOW_SECONDS,
        errors: counts.errors,
        p50Ms: percentile(counts, 0.5),
        p95Ms: percentile(counts, 0.95),
      }))
      .sort((a, b) => (a.version ?? 0) - (b.version ?? 0));
  }
}

function bucketOf(ms: number): number {
  if (!(ms > FIRST_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / FIRST_MS) / Math.log(GROWTH)));
}

/** The upper bound of the bucket holding the q-th request: at most 20% above the true value. */
function percentile({ requests, latency }: Counts, q: number): number {
  const rank = Math.ceil(q * requests);
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += latency[i]!;
    if (seen >= rank) return Number((FIRST_MS * GROWTH ** i).toPrecision(3));
  }
  return Number((FIRST_MS * GROWTH ** (BUCKETS - 1)).toPrecision(3));
}
