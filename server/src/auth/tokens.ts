import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The prefix of per-deployment API keys (serving/): they are not account tokens, so sign-in
 * leaves them to the serving routes, which check them against their deployment.
 */
export const DEPLOYMENT_KEY_PREFIX = 'tdk_';

/** API tokens are random, prefixed so they are recognisable in logs and secret scanners. */
export function generateToken(prefix = 'tdm_'): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compares secrets in constant time (hashed first, so lengths do not leak either). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
