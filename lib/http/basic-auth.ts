import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The Basic credentials an inbound caller (C4C's event notification, its mashup) must send. Both
 * empty: no check. Compared in constant time: digests of equal length, whatever was sent.
 */
export function basicAuthOk(header: unknown, username: string, password: string): boolean {
  if (!username && !password) return true;
  const m = /^Basic\s+([A-Za-z0-9+/=]*)\s*$/i.exec(typeof header === 'string' ? header : '');
  const given = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
  const digest = (s: string): Buffer => createHash('sha256').update(`x${s}`, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(`${username}:${password}`)) && !!m;
}
