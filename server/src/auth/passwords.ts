import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { TandemError } from '../errors.js';

const scrypt = (password: string, salt: Buffer, length: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCallback(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))),
  );

/** scrypt cost: N=2^15, r=8 (32 MiB, ~0.1 s). Stored with each hash, so raising it later keeps old hashes valid. */
const PARAMS = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
export const MIN_PASSWORD_LENGTH = 12;
/** Longer inputs only cost the server time. */
export const MAX_PASSWORD_LENGTH = 1024;

const maxmem = (o: { N: number; r: number; p: number }) => 128 * o.N * o.r * o.p + 16 * 1024 * 1024;

/** `scrypt$N$r$p$salt$key` (base64url), self-describing so parameters can change per hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...PARAMS, maxmem: maxmem(PARAMS) });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `password` matches `stored`; malformed hashes never match. Compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || !salt || !key || !Object.values(params).every((v) => Number.isInteger(v) && v > 0)) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, { ...params, maxmem: maxmem(params) });
  return timingSafeEqual(actual, expected);
}

/** Refuses weak passwords with a message naming the field. */
export function checkPassword(password: string, userName: string, field = 'body.password'): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new TandemError('INVALID_ARGUMENT', `${field}: must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new TandemError('INVALID_ARGUMENT', `${field}: must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (password.trim().toLowerCase() === userName.toLowerCase())
    throw new TandemError('INVALID_ARGUMENT', `${field}: must not be the user name`);
}
