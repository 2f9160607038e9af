/**
 * Comparing a secret a client sent with ours, in a time that tells nothing about our secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * secretMatches is true when `given` equals `secret`. Both are hashed (SHA-256) and the 32-byte
 * digests compared in constant time, so neither an early length check nor a compare that only
 * equal lengths reach tells a guesser the secret's length; `undefined` compares as ''.
 */
export function secretMatches(given: string | undefined, secret: string): boolean {
  return timingSafeEqual(digest(given ?? ''), digest(secret));
}
