import { describe, expect, it } from 'vitest';
import { RecentTraffic, WINDOW_SECONDS } from '../../src/serving/serving.stats.js';

const T0 = 1_800_000_000_000;

describe('RecentTraffic: the last minute of one split', () => {
  it('counts requests and errors per version over the seconds that have passed', () => {
    const recent = new RecentTraffic();
    for (let i = 0; i < 30; i++) recent.record(1, 2, true, T0 + i * 100);
    recent.record(2, 2, false, T0 + 500);
    recent.record(null, 2, false, T0 + 600);
    expect(recent.summary(T0 + 4_000)).toEqual([
      expect.objectContaining({ version: null, requests: 1, errors: 1 }),
      expect.objectContaining({ version: 1, requests: 30, errors: 0, requestsPerSecond: 30 / WINDOW_SECONDS }),
      expect.objectContaining({ version: 2, requests: 1, errors: 1 }),
    ]);
  });

  it('leaves out the second still filling and the seconds older than the window', () => {
    const recent = new RecentTraffic();
    recent.record(1, 1, true, T0);
    recent.record(1, 1, true, T0 + 10_000);
    expect(recent.summary(T0 + 10_500)).toEqual([expect.objectContaining({ requests: 1 })]);
    expect(recent.summary(T0 + 11_000)).toEqual([expect.objectContaining({ requests: 2 })]);
    expect(recent.summary(T0 + (WINDOW_SECONDS + 1) * 1000)).toEqual([expect.objectContaining({ requests: 1 })]);
    expect(recent.summary(T0 + (WINDOW_SECONDS + 11) * 1000)).toEqual([]);
  });

  it('reuses a slot a minute later without keeping its old counts', () => {
    const recent = new RecentTraffic();
    recent.record(1, 1, true, T0);
    recent.record(1, 1, true, T0 + WINDOW_SECONDS * 1000);
    expect(recent.summary(T0 + (WINDOW_SECONDS + 1) * 1000)).toEqual([expect.objectContaining({ requests: 1 })]);
  });

  it('gives p50 and p95 within 20% above the true latency', () => {
    const recent = new RecentTraffic();
    // 1..100 ms: the true p50 is 50 ms and the true p95 is 95 ms.
    for (let ms = 1; ms <= 100; ms++) recent.record(1, ms, true, T0);
    const [figures] = recent.summary(T0 + 1_000);
    expect(figures!.p50Ms).toBeGreaterThanOrEqual(50);
    expect(figures!.p50Ms).toBeLessThanOrEqual(60);
    expect(figures!.p95Ms).toBeGreaterThanOrEqual(95);
    expect(figures!.p95Ms).toBeLessThanOrEqual(114);
  });

  it('puts latencies past the last bucket, and nonsense ones, at the ends', () => {
    const recent = new RecentTraffic();
    recent.record(1, Number.NaN, true, T0);
    recent.record(1, 10 ** 9, true, T0);
    const [figures] = recent.summary(T0 + 1_000);
    expect(figures!.p50Ms).toBe(0.05);
    expect(figures!.p95Ms).toBeGreaterThan(600_000);
  });
});
