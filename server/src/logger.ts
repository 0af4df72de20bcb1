import { pino, type DestinationStream } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Fields whose values never reach the log, also one level down and inside `headers`. */
export const REDACTED_PATHS = [
  'token',
  'authorization',
  'cookie',
  '*.token',
  '*.authorization',
  '*.cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
];

/**
 * One JSON line per record (`t`, `level`, `name`, `msg`, then the fields) on stderr, or on
 * `destination`: greppable locally, parseable by log shippers. Tokens, authorization headers and
 * cookies are replaced by "[Redacted]".
 */
export function createLogger(level: LogLevel, name = 'tandem', destination?: DestinationStream): Logger {
  const log = pino(
    {
      level,
      base: { name },
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    },
    destination ?? pino.destination({ dest: 2, sync: true }),
  );
  const at =
    (l: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields?: Record<string, unknown>): void =>
      log[l](fields ?? {}, msg);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
