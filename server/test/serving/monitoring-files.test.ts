// The Prometheus rules and the Grafana dashboard shipped in monitoring/ name only series and labels
// the serving metrics have, so that renaming one fails here rather than silently in production.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVER_ROOT } from '../../src/paths.js';
import { ServingMetrics } from '../../src/serving/serving.metrics.js';

const MONITORING = path.join(SERVER_ROOT, '..', 'monitoring');

async function servingSeries(): Promise<Map<string, Set<string>>> {
  const registry = new Registry();
  new ServingMetrics(registry);
  const metrics = await registry.getMetricsAsJSON();
  const labels = (name: string) => new Set((registry.getSingleMetric(name) as unknown as { labelNames: string[] }).labelNames);
  return new Map(metrics.map((m) => [m.name, labels(m.name)]));
}

/** Every serving series an expression names, without the histogram suffixes, and the labels it groups or filters by. */
function uses(expr: string): { series: string[]; labels: string[] } {
  const series = [...expr.matchAll(/tandem_serving_[a-z_]+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, ''));
  const grouped = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap(([, list]) => list!.split(',').map((l) => l.trim()));
  const filtered = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap(([, list]) => [...list!.matchAll(/([a-z_]+)\s*=~?/g)].map(([, l]) => l!));
  return { series, labels: [...grouped, ...filtered].filter((l) => l !== 'le') };
}

function expectKnown(exprs: string[], known: Map<string, Set<string>>) {
  expect(exprs.length).toBeGreaterThan(0);
  for (const expr of exprs) {
    const { series, labels } = uses(expr);
    expect(series.length, expr).toBeGreaterThan(0);
    for (const name of series) {
      expect(known.has(name), `${name} in ${expr}`).toBe(true);
      for (const label of labels) expect(known.get(name)!.has(label), `label ${label} of ${name} in ${expr}`).toBe(true);
    }
  }
}

describe('the monitoring files in monitoring/', () => {
  it('alert rules use only the serving metrics’ series and labels, the latency rule among them', async () => {
    const rules = parse(readFileSync(path.join(MONITORING, 'prometheus-alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string; for: string }[] }[];
    };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert)).toContain('TandemServingSlow');
    expectKnown(
      all.map((r) => r.expr),
      await servingSeries(),
    );
  });

  it('the Grafana dashboard’s panels query only those series and labels', async () => {
    const board = JSON.parse(readFileSync(path.join(MONITORING, 'grafana-serving.json'), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    expectKnown(
      board.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      await servingSeries(),
    );
  });
});
