// Summaries of timings for benches.

/** The nearest-rank `p`th percentile of `xs` (not sorted in place). */
export const percentile = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))];
