import type { Response } from 'express';

/** JSON already serialized, answered as it is (see `route` and `sendJson`). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Answers `value` as JSON: a RawJson as its text, anything else through Express's serializer. */
export function sendJson(res: Response, status: number, value: unknown): void {
  if (value instanceof RawJson) res.status(status).type('application/json').send(value.text);
  else res.status(status).json(value);
}

/**
 * A serializer of lists that keeps each item's JSON for as long as the item object lives: a page
 * answered again with the same objects (runs a cache kept) is not serialized again, only joined.
 * Items must not change once serialized.
 */
export function keptJsonList<T extends object>(format: (item: T) => unknown): (items: T[]) => RawJson {
  const kept = new WeakMap<T, string>();
  return (items) => {
    const texts = items.map((item) => {
      let text = kept.get(item);
      if (text === undefined) {
        text = JSON.stringify(format(item));
        kept.set(item, text);
      }
      return text;
    });
    return new RawJson(`[${texts.join(',')}]`);
  };
}

/** An object's JSON with some members already serialized: `{ "items": <raw>, ...rest }`, undefined members left out as JSON does. */
export function objectWithRaw(raw: Record<string, RawJson>, rest: Record<string, unknown> = {}): RawJson {
  const members = Object.entries(raw).map(([key, value]) => `${JSON.stringify(key)}:${value.text}`);
  const others = JSON.stringify(rest);
  return new RawJson(`{${[...members, ...(others === '{}' ? [] : [others.slice(1, -1)])].join(',')}}`);
}
