// Inline SVG charts of the compare view: metric curves over steps, and parallel coordinates of
// params against a metric. Plain SVG keeps the extension free of a charting dependency.
import { formatNumber, svg } from '../dom';
import type { Run } from './api';
import type { Curve } from './compare-model';

/** One colour per compared run (at most COMPARE_MAX of them), distinct on light and dark themes. */
export const RUN_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

interface Line {
  runId: string;
  label: string;
  color: string;
  points: Curve;
}

const W = 420;
const H = 200;
const PAD = { left: 52, right: 12, top: 10, bottom: 24 };

const extent = (values: number[]): [number, number] => {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? [lo - (Math.abs(lo) || 1) / 2, hi + (Math.abs(hi) || 1) / 2] : [lo, hi];
};

/** A metric's curves over steps, one path per run, with the first and last step and the value range on the axes. */
export function curvesChart(metric: string, lines: Line[], label: string): SVGElement {
  const points = lines.flatMap((l) => l.points);
  const chart = svg('svg', { class: 'tandem-experiments-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label });
  if (points.length === 0) return chart;
  const [x0, x1] = extent(points.map(([s]) => s));
  const [y0, y1] = extent(points.map(([, v]) => v));
  const x = (s: number) => PAD.left + ((s - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((v - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  chart.append(
    svg('line', { x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, class: 'axis' }),
    svg('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, class: 'axis' }),
    svg('text', { x: PAD.left - 4, y: y(y1) + 4, 'text-anchor': 'end' }, formatNumber(y1)),
    svg('text', { x: PAD.left - 4, y: y(y0) + 4, 'text-anchor': 'end' }, formatNumber(y0)),
    svg('text', { x: x(x0), y: H - 6, 'text-anchor': 'start' }, String(x0)),
    svg('text', { x: x(x1), y: H - 6, 'text-anchor': 'end' }, String(x1)),
  );
  for (const line of lines) {
    if (line.points.length === 0) continue;
    const d = line.points.map(([s, v], i) => `${i === 0 ? 'M' : 'L'}${x(s).toFixed(1)},${y(v).toFixed(1)}`).join('');
    chart.append(
      svg(
        'path',
        {
          d,
          fill: 'none',
          stroke: line.color,
          'stroke-width': 1.5,
          class: 'tandem-experiments-curve',
          'data-run': line.runId,
          'data-metric': metric,
        },
        svg('title', {}, line.label),
      ),
    );
    // A single point draws no line: a dot shows it.
    if (line.points.length === 1) {
      const [[s, v]] = line.points as [[number, number]];
      chart.append(svg('circle', { cx: x(s), cy: y(v), r: 3, fill: line.color }));
    }
  }
  return chart;
}

/** An axis of the parallel coordinates: numbers on a linear scale, anything else as evenly spaced categories. */
interface Axis {
  key: string;
  position: (value: string | undefined) => number | undefined;
  ticks: [string, number][];
}

const PC_H = 240;
const PC_PAD = { top: 28, bottom: 20, side: 40 };

function axisOf(key: string, values: (string | undefined)[]): Axis {
  const top = PC_PAD.top;
  const bottom = PC_H - PC_PAD.bottom;
  const present = values.filter((v): v is string => v !== undefined && v !== '');
  const numbers = present.map(Number);
  if (present.length > 0 && numbers.every(Number.isFinite)) {
    const [lo, hi] = extent(numbers);
    const at = (n: number) => bottom - ((n - lo) / (hi - lo)) * (bottom - top);
    return {
      key,
      position: (v) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? undefined : at(Number(v))),
      ticks:
        [...new Set(numbers)].length > 1
          ? [
              [formatNumber(hi), at(hi)],
              [formatNumber(lo), at(lo)],
            ]
          : [[formatNumber(numbers[0]!), at(numbers[0]!)]],
    };
  }
  const categories = [...new Set(present)].sort();
  const at = (i: number) => (categories.length === 1 ? (top + bottom) / 2 : bottom - (i / (categories.length - 1)) * (bottom - top));
  return {
    key,
    position: (v) => (v === undefined || !categories.includes(v) ? undefined : at(categories.indexOf(v))),
    ticks: categories.map((c, i) => [c, at(i)]),
  };
}

/** Params (one axis each) and `metric` last, one polyline per run, so settings that go with a good metric line up. */
export function parallelCoordinates(
  runs: Run[],
  params: string[],
  metric: string | undefined,
  colors: Map<string, string>,
  label: string,
): SVGElement {
  const keys: { key: string; value: (r: Run) => string | undefined }[] = params.map((p) => ({ key: p, value: (r) => r.params[p] }));
  if (metric) keys.push({ key: metric, value: (r: Run) => (r.metrics[metric] ? String(r.metrics[metric].value) : undefined) });
  const width = Math.max(W, PC_PAD.side * 2 + (keys.length - 1) * 110);
  // Drawn at its own size (shrunk to fit narrow views), so that labels stay at text size.
  const chart = svg('svg', {
    class: 'tandem-experiments-parallel',
    width,
    height: PC_H,
    viewBox: `0 0 ${width} ${PC_H}`,
    role: 'img',
    'aria-label': label,
  });
  const axes = keys.map(({ key, value }) => ({ axis: axisOf(key, runs.map(value)), value }));
  const xAt = (i: number) => (keys.length === 1 ? width / 2 : PC_PAD.side + (i / (keys.length - 1)) * (width - 2 * PC_PAD.side));
  axes.forEach(({ axis }, i) => {
    const x = xAt(i);
    chart.append(
      svg('line', { x1: x, y1: PC_PAD.top, x2: x, y2: PC_H - PC_PAD.bottom, class: 'axis' }),
      svg('text', { x, y: PC_PAD.top - 12, 'text-anchor': 'middle', class: i === axes.length - 1 && metric ? 'metric' : '' }, axis.key),
      ...axis.ticks.map(([text, y]) => svg('text', { x: x + 4, y: y + 4, class: 'tick' }, text)),
    );
  });
  for (const run of runs) {
    const points = axes
      .map(({ axis, value }, i) => [xAt(i), axis.position(value(run))] as const)
      .filter((p): p is readonly [number, number] => p[1] !== undefined);
    if (points.length === 0) continue;
    chart.append(
      svg(
        'polyline',
        {
          points: points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' '),
          fill: 'none',
          stroke: colors.get(run.id) ?? RUN_COLORS[0]!,
          'stroke-width': 2,
          class: 'tandem-experiments-pc-line',
          'data-run': run.id,
        },
        svg('title', {}, run.name),
      ),
    );
  }
  return chart;
}
