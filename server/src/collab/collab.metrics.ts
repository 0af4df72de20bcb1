import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What a room reports about itself; Prometheus metrics in production, nothing in unit use. */
export interface RoomObserver {
  rejected(reason: 'malformed' | 'viewer_update' | 'foreign_awareness'): void;
  persisted(seconds: number): void;
}

/** Collaboration metrics at /metrics: rooms, connections, rejected messages, log write latency. */
export function collabMetrics(registry: Registry, counts: () => { rooms: number; connections: number }): RoomObserver {
  new Gauge({
    name: 'tandem_collab_rooms',
    help: 'Notebook rooms loaded in memory',
    registers: [registry],
    collect() {
      this.set(counts().rooms);
    },
  });
  new Gauge({
    name: 'tandem_collab_connections',
    help: 'Open collaboration WebSockets',
    registers: [registry],
    collect() {
      this.set(counts().connections);
    },
  });
  const rejected = new Counter({
    name: 'tandem_collab_messages_rejected_total',
    help: 'Collaboration messages not applied: malformed or presence under another user’s client id (socket closed), document updates from viewers (dropped)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const persist = new Histogram({
    name: 'tandem_collab_persist_seconds',
    help: 'Time to append a batch of document updates to the log (edits are broadcast after it)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  });
  return {
    rejected: (reason) => rejected.inc({ reason }),
    persisted: (seconds) => persist.observe(seconds),
  };
}
