// Maps a line of tslab's compiled cell back to the TypeScript the user wrote. tslab compiles
// without source maps, but its output keeps the cell's statements in order, adding export lines
// and dropping types; matching lines in order by their leading text recovers the user's line.

const normalize = (line: string) => line.replace(/^\s*exports\.tsLastExpr = /, '').replace(/\s+/g, '');

function sameStatement(compiled: string, source: string): boolean {
  if (!compiled || !source) return false;
  if (compiled === source) return true;
  let common = 0;
  while (common < compiled.length && compiled[common] === source[common]) common++;
  return common >= Math.min(8, compiled.length, source.length);
}

/** The 1-based cell line of compiled line `compiledLine` (or the nearest cell line before it). */
export function sourceLineOf(source: string, compiled: string, compiledLine: number): number | undefined {
  const src = source.split('\n').map(normalize);
  const out = compiled.split('\n').map(normalize);
  let next = 0;
  let found: number | undefined;
  for (let i = 0; i < Math.min(compiledLine, out.length); i++) {
    for (let j = next; j < src.length; j++) {
      if (sameStatement(out[i], src[j])) {
        found = j + 1;
        next = j + 1;
        break;
      }
    }
  }
  return found;
}
