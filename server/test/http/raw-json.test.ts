import { describe, expect, it } from 'vitest';
import { keptJsonList, objectWithRaw, RawJson } from '../../src/http/raw-json.js';

describe('pre-serialized JSON answers', () => {
  it('an object with raw members reads back as the object JSON.stringify would have made', () => {
    const items = [{ a: 1, at: new Date(0) }, { b: 'x"y' }];
    const raw = objectWithRaw({ items: keptJsonList((item: object) => item)(items) }, { next: 'token', gone: undefined });
    expect(raw.text).toBe(JSON.stringify({ items, next: 'token' }));
    expect(objectWithRaw({ items: new RawJson('[]') }).text).toBe('{"items":[]}');
  });

  it('serializes each item once while the same object is answered again, and a new object anew', () => {
    let formatted = 0;
    const list = keptJsonList((item: { n: number }) => (formatted++, { n: item.n * 2 }));
    const one = { n: 1 };
    const two = { n: 2 };
    expect(list([one, two]).text).toBe('[{"n":2},{"n":4}]');
    expect(list([two, one]).text).toBe('[{"n":4},{"n":2}]');
    expect(formatted).toBe(2);
    expect(list([{ n: 1 }]).text).toBe('[{"n":2}]');
    expect(formatted).toBe(3);
  });
});
