/**
 * Event ids: ULID layout (https://github.com/ulid/spec), 26 Crockford base32 characters, the first
 * 10 the time in ms, the last 16 random, monotonic within one process (an id made in the same ms
 * as the previous one is that one plus one), so sorting ids sorts events by start time.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;

/** EVENT_ID_PATTERN matches an event id (for route schemas). */
export const EVENT_ID_PATTERN = '^[0-9A-HJKMNP-TV-Z]{26}$';

/** encodeTimePrefix is the 10-character time part of an id for `ms` (0 .. 2^48 - 1). */
export function encodeTimePrefix(ms: number): string {
  let t = Math.max(0, Math.min(2 ** 48 - 1, Math.floor(ms)));
  let out = '';
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

/** decodeTimePrefix is the time in ms an id was made for. */
export function decodeTimePrefix(id: string): number {
  let t = 0;
  for (const c of id.slice(0, TIME_CHARS)) t = t * 32 + ALPHABET.indexOf(c);
  return t;
}

/** The smallest and largest ids made in `ms` (for time ranges over the id index). */
export const lowestIdAt = (ms: number) => encodeTimePrefix(ms) + '0'.repeat(RANDOM_CHARS);

/** EventIdFactory makes monotonic ids. */
export class EventIdFactory {
  private lastMs = -1;
  private last: number[] = [];

  /** next returns a new id for time `ms` (default now), greater than every id it made before. */
  next(ms: number = Date.now()): string {
    if (ms <= this.lastMs) {
      // Same (or an earlier) ms: keep the last time and add one to the random part.
      for (let i = RANDOM_CHARS - 1; i >= 0; i--) {
        if (this.last[i]! < 31) { this.last[i] = this.last[i]! + 1; break; }
        this.last[i] = 0;
      }
    } else {
      this.lastMs = ms;
      const bytes = randomBytes(RANDOM_CHARS);
      // The top bit is kept clear, so increments have room before they could overflow.
      this.last = [...bytes].map((b, i) => (i === 0 ? b % 16 : b % 32));
    }
    return encodeTimePrefix(this.lastMs) + this.last.map((v) => ALPHABET[v]).join('');
  }
}
