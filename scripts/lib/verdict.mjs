// The benches' shared verdict convention. Each target a bench measures is reported by
// `verdict()`: a line for people, and a machine-readable `##verdict {json}` line that
// `npm run bench` (scripts/bench.mjs) collects from the bench's output and tabulates at the end.

export const VERDICT_PREFIX = '##verdict ';

/**
 * Reports one target. `value` is the measured figure in the target's own unit (ms, req/s, or a
 * ratio to a peer), `limit` the target, `op` '<=' or '>='. The ratio is value/limit: a target is
 * met at ≤ 1 for '<=' and ≥ 1 for '>='. `pass: false` fails a target whatever the figure (the
 * measurement itself went wrong: edits missing, say), `note` says why or adds context.
 */
export function verdict({ bench, name, value, op, limit, target, measured, pass, note }) {
  if (op !== '<=' && op !== '>=') throw new Error(`verdict ${name}: op must be '<=' or '>='`);
  const ratio = value / limit;
  const met = Number.isFinite(ratio) && (op === '<=' ? ratio <= 1 : ratio >= 1);
  const record = {
    bench,
    name,
    target,
    measured,
    value: Number.isFinite(value) ? Number(value.toPrecision(4)) : null,
    limit,
    op,
    ratio: Number.isFinite(ratio) ? Number(ratio.toFixed(3)) : null,
    pass: met && pass !== false,
    ...(note ? { note } : {}),
  };
  console.log(
    `  ${record.pass ? 'PASS' : 'FAIL'} ${name}: ${measured} (target ${target}; ratio to target ${record.ratio ?? 'n/a'})${note ? ` — ${note}` : ''}`,
  );
  console.log(`${VERDICT_PREFIX}${JSON.stringify(record)}`);
  return record.pass;
}

/** The verdict records in a bench's output (lines that are not verdicts are ignored). */
export function parseVerdicts(output) {
  const found = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith(VERDICT_PREFIX)) continue;
    try {
      found.push(JSON.parse(line.slice(VERDICT_PREFIX.length)));
    } catch {
      found.push({ name: 'unreadable verdict line', target: '-', measured: line.slice(0, 80), ratio: null, pass: false });
    }
  }
  return found;
}
