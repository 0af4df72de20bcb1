import type { IncomingMessage } from 'node:http';

// The predict route's own HTTP plumbing. Predictions are the one path called thousands of times
// a second, so it reads and parses the body itself instead of through body-parser, and skips zod
// for bodies already in the shape the schema takes. Anything unusual (a compressed or chunked
// body, another charset, Arrow in or out, a body the fast checks do not accept) is left to the general path, so
// that its answers, errors included, stay exactly the documented ones.

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ARROW_TYPE = /^\s*application\/vnd\.apache\.arrow\.(?:stream|file)\s*(?:;|$)/i;

/** The media type of Arrow IPC streams: predict routes answer one to callers that accept it. */
export const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

/** The body is Arrow IPC, in the stream or the file format. */
export const isArrowBody = (req: IncomingMessage): boolean => ARROW_TYPE.test(req.headers['content-type'] ?? '');

/** The caller asks for the predictions as an Arrow IPC stream. */
export const wantsArrow = (req: IncomingMessage): boolean => req.headers.accept?.includes(ARROW_STREAM) === true;

/** The body is one plain JSON document of a known length: no content-encoding, a UTF-8 (or unnamed) charset, not Arrow. */
export function plainBody(req: IncomingMessage, limit: number): number | undefined {
  const { headers } = req;
  const length = Number(headers['content-length']);
  if (!Number.isInteger(length) || length <= 0 || length > limit) return undefined;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return undefined;
  const type = headers['content-type'];
  if (type !== undefined && (/charset=(?!"?utf-8)/i.test(type) || ARROW_TYPE.test(type))) return undefined;
  return length;
}

/** Reads a body of `length` bytes (as the client declared it; node's parser enforces it). */
export function readBody(req: IncomingMessage, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    req.on('data', (chunk: Buffer) => {
      if (!first) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    req.on('end', () => resolve(chunks ? Buffer.concat(chunks, length).toString('utf8') : (first?.toString('utf8') ?? '')));
    req.on('error', reject);
  });
}

/**
 * `{"rows": [{...}, ...]}` or `{"columns": {"f": [...], ...}}` with no text the database could
 * not hold: exactly what the predict schema accepts, checked without building zod's issue lists.
 */
export function isPredictBody(body: unknown): body is { rows: Record<string, unknown>[] } | { columns: Record<string, unknown[]> } {
  if (!isObject(body)) return false;
  let keys = 0;
  for (const key in body) {
    keys++;
    if (keys > 1 || (key !== 'rows' && key !== 'columns')) return false;
  }
  if (keys !== 1) return false;
  const { rows, columns } = body as { rows?: unknown; columns?: unknown };
  if (rows !== undefined) {
    if (!Array.isArray(rows)) return false;
    for (const row of rows) if (!isObject(row) || !storable(row, 0)) return false;
    return true;
  }
  if (!isObject(columns)) return false;
  for (const key in columns) if (!Array.isArray(columns[key]) || !storable(key, 0) || !storable(columns[key], 0)) return false;
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** No NUL or unpaired surrogate in any key or string (what the general path refuses as unstorable text). */
function storable(value: unknown, depth: number): boolean {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return true;
  if (typeof value === 'string') return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
  if (typeof value !== 'object' || depth > 64) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!storable(item, depth + 1)) return false;
    return true;
  }
  for (const key in value) if (!storable(key, depth + 1) || !storable((value as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}
