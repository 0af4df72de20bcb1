// Tail probabilities of the test statistics drift checks use (chi-squared, normal, two-sample
// Kolmogorov–Smirnov), computed in the kernel from the few numbers the SQL side returns.

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: ~15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Regularized upper incomplete gamma Q(a, x): a series below a + 1, a continued fraction (Lentz) above. */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-17; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - sum * front;
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return front * h;
}

/** P(X ≥ statistic) for X ~ χ²(dof). */
export const chiSquaredSurvival = (statistic: number, dof: number): number => gammaQ(dof / 2, statistic / 2);

/** Φ(x), the standard normal CDF, through erfc(t) = Q(½, t²). */
export function normalCdf(x: number): number {
  const tail = 0.5 * gammaQ(0.5, (x * x) / 2);
  return x >= 0 ? 1 - tail : tail;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Two-sided p-value of the two-sample KS statistic D = `numerator / (n1 * n2)` as scipy's
 * `ks_2samp` (mode "auto", which Evidently uses) gives it: exact when both samples have at most
 * 10,000 values. Above, scipy takes the one-sample distribution for n = n1·n2/(n1+n2); this uses
 * Stephens' corrected asymptotic form of it, Q((√n + 0.12 + 0.11/√n)·D), within ~0.3% of scipy.
 */
export function ksPValue(numerator: number, n1: number, n2: number): number {
  if (Math.max(n1, n2) > 10_000) {
    const root = Math.sqrt(Math.round((n1 * n2) / (n1 + n2)));
    return kolmogorovSurvival((root + 0.12 + 0.11 / root) * (numerator / (n1 * n2)));
  }
  const g = gcd(n1, n2);
  // On the lattice of ECDF steps, D = h / lcm(n1, n2) exactly.
  const h = Math.round(numerator / g);
  if (h === 0) return 1;
  return n1 === n2 ? outsideSquare(n1, h) : 1 - insideBand(n1, n2, h * g);
}

/**
 * P(max |i - j| ≥ h) for a uniformly random monotone path from (0,0) to (n,n): the reflection
 * formula 2·Σ (-1)^(k+1) C(2n, n-kh)/C(2n, n), with the binomial ratios built as products.
 */
function outsideSquare(n: number, h: number): number {
  let total = 0;
  let ratio = 1;
  let taken = 0;
  for (let k = 1; k * h <= n; k++) {
    for (; taken < k * h; taken++) ratio *= (n - taken) / (n + 1 + taken);
    total += (k % 2 === 1 ? 1 : -1) * ratio;
  }
  return Math.min(1, Math.max(0, 2 * total));
}

/**
 * P(|i·n2 - j·n1| < bound at every step) for a uniformly random monotone path from (0,0) to (n1,n2),
 * as probabilities (each step goes right with chance (n1-i)/(n1-i+n2-j)), so nothing overflows.
 */
function insideBand(n1: number, n2: number, bound: number): number {
  let row = new Float64Array(n2 + 1);
  let next = new Float64Array(n2 + 1);
  row[0] = 1;
  const inside = (i: number, j: number) => Math.abs(i * n2 - j * n1) < bound;
  for (let i = 0; i <= n1; i++) {
    next.fill(0);
    for (let j = 0; j <= n2; j++) {
      const p = row[j];
      if (p === 0) continue;
      const left = n1 - i + n2 - j;
      if (left === 0) continue;
      if (i < n1 && inside(i + 1, j)) next[j] += (p * (n1 - i)) / left;
      if (j < n2 && inside(i, j + 1)) row[j + 1] += (p * (n2 - j)) / left;
    }
    if (i === n1) return row[n2];
    [row, next] = [next, row];
  }
  return 0;
}

/** P(K > x) for the Kolmogorov distribution: 2·Σ (-1)^(k-1) e^(-2k²x²). */
function kolmogorovSurvival(x: number): number {
  // Below 0.2 the survival is 1 to 15 digits, and the series would need hundreds of terms.
  if (x < 0.2) return 1;
  let sum = 0;
  for (let k = 1; k < 100; k++) {
    const term = Math.exp(-2 * k * k * x * x);
    sum += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-18) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}
