import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** `split`: which of an alias's versions the series is about (primary, canary or shadow). */
export type Labels = { model: string; endpoint: string; split: 'primary' | 'canary' | 'shadow' };

interface Used {
  versions: Set<string>;
  statuses: Set<string>;
  codes: Set<string>;
  /** Children of the requests counter by version and status, and of the latency histogram. */
  requests: Map<string, { inc(): void }>;
  latency?: { observe(value: number): void };
}

/**
 * Per-deployment series on the server's /metrics registry. `endpoint` is the alias, or
 * `versions/<n>` for a pinned version; series are only made for endpoints that exist, never from
 * names a caller typed.
 */
export class ServingMetrics {
  private readonly requests: Counter<'model' | 'endpoint' | 'split' | 'version' | 'status'>;
  private readonly errors: Counter<'model' | 'endpoint' | 'split' | 'code'>;
  private readonly latency: Histogram<'model' | 'endpoint' | 'split'>;
  private readonly batchRows: Histogram<'model' | 'endpoint' | 'split'>;
  private readonly version: Gauge<'model' | 'endpoint' | 'split'>;
  /** The counters' label values used per endpoint, so that `forget` can remove every series. */
  private readonly used = new Map<string, Used>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'tandem_serving_requests_total',
      help: 'Prediction requests by deployment, version that answered and HTTP status',
      labelNames: ['model', 'endpoint', 'split', 'version', 'status'] as const,
      registers,
    });
    this.errors = new Counter({
      name: 'tandem_serving_errors_total',
      help: 'Failed prediction requests by deployment and error code',
      labelNames: ['model', 'endpoint', 'split', 'code'] as const,
      registers,
    });
    this.latency = new Histogram({
      name: 'tandem_serving_request_duration_seconds',
      help: 'Prediction latency from the body being parsed to the answer, queueing included',
      labelNames: ['model', 'endpoint', 'split'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.batchRows = new Histogram({
      name: 'tandem_serving_batch_size',
      help: 'Rows per model run (micro-batches of concurrent requests)',
      labelNames: ['model', 'endpoint', 'split'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.version = new Gauge({
      name: 'tandem_serving_version',
      help: 'The model version a deployment serves (0: none loaded)',
      labelNames: ['model', 'endpoint', 'split'] as const,
      registers,
    });
  }

  request(labels: Labels, seconds: number, status: number, version: number | null, code?: string): void {
    const used = this.usedBy(labels);
    // The labelled children, kept per endpoint: prom-client otherwise hashes the label object on every call.
    const childKey = `${version ?? ''}\u0000${status}`;
    let requests = used.requests.get(childKey);
    if (!requests) {
      const v = version === null ? '' : String(version);
      const s = String(status);
      used.versions.add(v);
      used.statuses.add(s);
      requests = this.requests.labels({ ...labels, version: v, status: s });
      used.requests.set(childKey, requests);
    }
    requests.inc();
    (used.latency ??= this.latency.labels(labels)).observe(seconds);
    if (code) {
      used.codes.add(code);
      this.errors.inc({ ...labels, code });
    }
  }

  batch(labels: Labels, rows: number): void {
    this.batchRows.observe(labels, rows);
  }

  served(labels: Labels, version: number | null): void {
    this.version.set(labels, version ?? 0);
  }

  /** Drops a removed deployment's series, so /metrics does not list it forever. */
  forget(labels: Labels): void {
    this.version.remove(labels);
    this.latency.remove(labels);
    this.batchRows.remove(labels);
    const used = this.used.get(key(labels));
    if (!used) return;
    for (const version of used.versions) for (const status of used.statuses) this.requests.remove({ ...labels, version, status });
    for (const code of used.codes) this.errors.remove({ ...labels, code });
    this.used.delete(key(labels));
  }

  private usedBy(labels: Labels) {
    let used = this.used.get(key(labels));
    if (!used) this.used.set(key(labels), (used = { versions: new Set(), statuses: new Set(), codes: new Set(), requests: new Map() }));
    return used;
  }
}

const key = (labels: Labels) => `${labels.model}\u0000${labels.endpoint}\u0000${labels.split}`;
