// Numbers and durations from the API (metrics, row counts, run times) as people read them, the
// same in cells and in JupyterLab: 1,208 rows, 0.912 accuracy, 3.20e-5, 1 min 52 s; never 1.208e+3.

const LOCALE = 'en-US';

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString(LOCALE);
  const size = Math.abs(value);
  if (size >= 1000) return value.toLocaleString(LOCALE, { maximumFractionDigits: 1 });
  if (size < 0.001) return value.toExponential(2);
  const short = value.toLocaleString(LOCALE, { maximumSignificantDigits: 3 });
  // 0.99996 is not 1: a fraction keeps the digits that tell it from a whole number.
  return Number.isInteger(Number(short)) ? String(value) : short;
}

export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${whole % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A fact a job reported about its run (`train_rows: 1208`) as text: "train rows 1,208". */
export function formatFact(name: string, value: string | number | boolean): string {
  return `${name.replace(/_/g, ' ')} ${typeof value === 'number' ? formatNumber(value) : String(value)}`;
}
