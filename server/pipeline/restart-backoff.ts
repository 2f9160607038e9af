/**
 * The delay before a supervised ffmpeg child that died is started again.
 */
import { performance } from 'node:perf_hooks';

const STABLE_AFTER_MS = 30_000;

/** Backoff keeps consecutive restarts apart: 250 ms, 500 ms, 1 s, 2 s, then 4 s; reset once stable (30 s without a restart). */
export class Backoff {
  private attempts = 0;
  private lastAt = 0;
  /** next is the delay (ms) before the next restart; it counts this restart. */
  next(): number {
    const now = performance.now();
    if (now - this.lastAt > STABLE_AFTER_MS) this.attempts = 0;
    this.lastAt = now;
    this.attempts += 1;
    return Math.min(4000, 250 * 2 ** (this.attempts - 1));
  }
}
