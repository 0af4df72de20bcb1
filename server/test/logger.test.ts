import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../src/logger.js';

/** A logger writing into an array, and its records parsed. */
function captured(level: LogLevel = 'debug') {
  const lines: string[] = [];
  const log = createLogger(level, 'tandem', { write: (line: string) => void lines.push(line) });
  return { log, text: () => lines.join(''), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger()', () => {
  it('writes one JSON line per record with time, level, name, message and fields', () => {
    const { log, records } = captured();
    log.info('tandem server listening', { url: 'http://127.0.0.1:8787', db: 'pglite' });
    const [record] = records();
    expect(record).toMatchObject({
      level: 'info',
      name: 'tandem',
      msg: 'tandem server listening',
      url: 'http://127.0.0.1:8787',
      db: 'pglite',
    });
    expect(new Date(String(record!.t)).toISOString()).toBe(record!.t);
  });

  it('leaves out records below its level, and everything when silent', () => {
    const warn = captured('warn');
    warn.log.debug('d');
    warn.log.info('i');
    warn.log.warn('w');
    warn.log.error('e');
    expect(warn.records().map((r) => r.level)).toEqual(['warn', 'error']);
    const silent = captured('silent');
    silent.log.error('e');
    expect(silent.text()).toBe('');
  });

  it('never writes a token, an authorization header or a cookie', () => {
    const { log, text, records } = captured();
    log.warn('request failed', {
      token: 'tok-top-secret',
      authorization: 'Bearer auth-top-secret',
      cookie: 'tandem_session=cookie-top-secret',
      headers: { authorization: 'Bearer header-auth-secret', cookie: 'a=header-cookie-secret', accept: 'text/html' },
      req: { token: 'nested-token-secret', headers: { authorization: 'Bearer req-auth-secret', cookie: 'b=req-cookie-secret' } },
      job: { id: 'j1', token: 'job-token-secret' },
    });
    expect(text()).not.toMatch(/secret/);
    expect(records()[0]).toMatchObject({
      token: '[Redacted]',
      headers: { authorization: '[Redacted]', cookie: '[Redacted]', accept: 'text/html' },
      job: { id: 'j1', token: '[Redacted]' },
    });
  });
});
