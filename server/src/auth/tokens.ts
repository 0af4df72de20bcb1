import { createHash, randomBytes } from 'node:crypto';

/** API tokens are random, prefixed so they are recognisable in logs and secret scanners. */
export function generateToken(): string {
  return `tdm_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
