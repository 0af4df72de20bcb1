// The inputs (and shown outputs) of this kernel session, for Jupyter's history_request: the last
// n, a range of execution counts, or those matching a glob pattern. A session is one notebook's
// kernel; history starts empty when the kernel (re)starts.

interface Entry {
  line: number;
  input: string;
  output: string | null;
}

/** [session, line, input] or, with outputs, [session, line, [input, output]]. */
export type HistoryItem = [number, number, string | [string, string | null]];

export interface HistoryRequest {
  hist_access_type: 'tail' | 'range' | 'search';
  output?: boolean;
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}

/** The session number replies carry; requests may also name it 0 or a negative offset (IPython's "current"). */
const SESSION = 1;

export class History {
  private readonly entries: Entry[] = [];

  add(line: number, input: string): void {
    this.entries.push({ line, input, output: null });
  }

  /** The text a cell showed as its result. */
  setOutput(line: number, output: string): void {
    const entry = this.entries.findLast((e) => e.line === line);
    if (entry) entry.output = output;
  }

  query(request: HistoryRequest): HistoryItem[] {
    return this.select(request).map((e) => [SESSION, e.line, request.output ? [e.input, e.output] : e.input]);
  }

  private select({ hist_access_type: type, session = SESSION, start = 1, stop, n, pattern = '*', unique }: HistoryRequest): Entry[] {
    if (type === 'tail') return n === undefined ? [...this.entries] : this.entries.slice(-n || this.entries.length);
    if (type === 'range') {
      if (session !== SESSION && session > 0) return [];
      return this.entries.filter((e) => e.line >= start && (stop === undefined || stop === null || e.line < stop));
    }
    const matches = globPattern(pattern);
    let found = this.entries.filter((e) => matches.test(e.input));
    if (unique) {
      const seen = new Set<string>();
      found = found
        .reverse()
        .filter((e) => !seen.has(e.input) && seen.add(e.input))
        .reverse();
    }
    return n ? found.slice(-n) : found;
  }
}

/** A glob (`*`, `?`, `[…]`, as IPython's history search takes) matching whole inputs. */
function globPattern(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*') source += '[\\s\\S]*';
    else if (char === '?') source += '[\\s\\S]';
    else if (char === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) source += '\\[';
      else {
        source += `[${glob
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else source += char.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
