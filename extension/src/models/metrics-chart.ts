import { nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import { formatNumber, svg } from '../dom';
import type { ModelVersion } from './api';

const W = 320;
const H = 140;
const PAD = { left: 44, right: 12, top: 10, bottom: 22 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/** One line per metric across versions (x = version number), so regressions stand out. */
export function metricsChart(versions: ModelVersion[], trans: TranslationBundle = nullTranslator.load('tandem')): SVGElement | null {
  const sorted = [...versions].sort((a, b) => a.number - b.number);
  const names = [...new Set(sorted.flatMap((v) => Object.keys(v.metrics)))].slice(0, COLORS.length);
  if (names.length === 0 || sorted.length === 0) return null;
  const values = sorted.flatMap((v) => names.map((n) => v.metrics[n]).filter((x): x is number => typeof x === 'number'));
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const span = hi - lo || Math.abs(hi) || 1;
  const [first, last] = [sorted[0]!.number, sorted[sorted.length - 1]!.number];
  const x = (n: number) => PAD.left + ((n - first) / (last - first || 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((v - lo) / span) * (H - PAD.top - PAD.bottom);
  const chart = svg('svg', {
    class: 'tandem-models-chart',
    viewBox: `0 0 ${W} ${H + 16 * names.length}`,
    role: 'img',
    'aria-label': trans._n('metrics across %1 version', 'metrics across %1 versions', sorted.length),
  });
  chart.append(
    svg('line', { x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, class: 'axis' }),
    svg('text', { x: PAD.left - 4, y: y(hi) + 4, 'text-anchor': 'end' }, formatNumber(hi)),
    svg('text', { x: PAD.left - 4, y: y(lo) + 4, 'text-anchor': 'end' }, formatNumber(lo)),
    svg('text', { x: x(first), y: H - 6, 'text-anchor': 'middle' }, `v${first}`),
    svg('text', { x: x(last), y: H - 6, 'text-anchor': 'middle' }, `v${last}`),
  );
  names.forEach((name, i) => {
    const points = sorted.filter((v) => typeof v.metrics[name] === 'number').map((v) => [x(v.number), y(v.metrics[name]!), v] as const);
    const color = COLORS[i]!;
    chart.append(
      svg('polyline', { points: points.map(([px, py]) => `${px},${py}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }),
    );
    for (const [px, py, v] of points) {
      chart.append(
        svg('circle', { cx: px, cy: py, r: 3, fill: color }, svg('title', {}, `${name} v${v.number}: ${formatNumber(v.metrics[name]!)}`)),
      );
    }
    chart.append(
      svg('rect', { x: PAD.left, y: H + 16 * i, width: 10, height: 10, fill: color }),
      svg('text', { x: PAD.left + 16, y: H + 16 * i + 9 }, name),
    );
  });
  return chart;
}
