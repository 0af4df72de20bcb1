import { describe, expect, it } from 'vitest';
import { formatDuration, formatFact, formatNumber } from '../../src/api/format.js';

describe('numbers as people read them in job and model views', () => {
  it('groups the thousands of counts instead of writing them as exponents', () => {
    expect(formatNumber(1208)).toBe('1,208');
    expect(formatNumber(3_000_000)).toBe('3,000,000');
    expect(formatNumber(12_345.678)).toBe('12,345.7');
  });

  it('gives scores and losses three significant digits, and tiny values an exponent', () => {
    expect(formatNumber(0.91234)).toBe('0.912');
    expect(formatNumber(0.6740381)).toBe('0.674');
    expect(formatNumber(12.3456)).toBe('12.3');
    expect(formatNumber(-0.05)).toBe('-0.05');
    expect(formatNumber(0.0000321)).toBe('3.21e-5');
  });

  it('never rounds a fraction to a whole number', () => {
    expect(formatNumber(0.99996)).toBe('0.99996');
    expect(formatNumber(0.9999999)).toBe('0.9999999');
    expect(formatNumber(-1.0004)).toBe('-1.0004');
  });

  it('writes durations in seconds, minutes and hours', () => {
    expect(formatDuration(4_230)).toBe('4.2 s');
    expect(formatDuration(42_400)).toBe('42 s');
    expect(formatDuration(112_000)).toBe('1 min 52 s');
    expect(formatDuration(119_700)).toBe('2 min 0 s');
    expect(formatDuration(7_500_000)).toBe('2 h 5 min');
  });

  it('reads a fact a job reported as words and a number', () => {
    expect(formatFact('train_rows', 1208)).toBe('train rows 1,208');
    expect(formatFact('device', 'cuda:0')).toBe('device cuda:0');
  });
});
