import type { Response } from 'express';

/**
 * Sends a server-made HTML page (sign-in, admin) with its CSP, never framed, sniffed or cached:
 * such pages carry a session's CSRF token or say who is signed in.
 */
export function sendPage(res: Response, status: number, csp: string, html: string): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).type('html').send(html);
}
