/**
 * Recycles one stream's frame-sized ArrayBuffers (I420 frames).
 *
 * Every frame used to land in a fresh 1.4 MB ArrayBuffer (1280x720 I420); at 30 fps that is
 * ~41 MB/s of external memory per stream, and the garbage collector ran on the main thread for
 * about 40 % of its busy time. A frame's buffer travels decoder reader -> worker (moved) -> back
 * (moved) -> encoder stdin; once the encoder has taken the bytes it comes back here.
 *
 * How many buffers a stream needs swings with load: on a busy machine up to ~1 s of frames waits
 * for the encoder, then comes back in a burst. The pool keeps what comes back and gives memory up
 * only slowly: buffers that stayed free through a whole trim window (10 s) are released. A fixed
 * small cap discarded each burst and allocated it again; with three 720p streams on 2 cores that
 * was ~4 full garbage collections a second from external memory pressure, about 2 ms of CPU per
 * frame.
 */
import { performance } from 'node:perf_hooks';

/** Free buffers kept per size at most, whatever the load (the rest are left to the garbage collector). */
const DEFAULT_MAX_FREE = 64;
/** Free buffers never trimmed away per size. */
const MIN_FREE = 4;
/** Buffers free through a whole window of this many ms are released. */
const TRIM_WINDOW_MS = 10_000;

interface SizeClass {
  free: Uint8Array[];
  /** Fewest free buffers seen since the window began. */
  lowWater: number;
}

/** FramePool hands out and takes back whole ArrayBuffers, keyed by byte size. */
export class FramePool {
  private readonly sizes = new Map<number, SizeClass>();
  private windowStart: number;
  /** Buffers handed out that were new allocations, and buffers that came back and were reused. */
  allocated = 0;
  reused = 0;
  /** Free buffers released by trimming. */
  trimmed = 0;

  /**
   * @param maxFreePerSize free buffers kept per size at most (default 64)
   * @param now clock in ms (default performance.now), for tests
   */
  constructor(
    private readonly maxFreePerSize = DEFAULT_MAX_FREE,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.windowStart = now();
  }

  /**
   * take returns a buffer of `size` bytes with unspecified contents (a recycled one when there is
   * one), viewing its whole ArrayBuffer, so it can be moved to a worker thread.
   */
  take(size: number): Uint8Array {
    this.trimIfDue();
    const entry = this.sizes.get(size);
    const buffer = entry?.free.pop();
    if (buffer !== undefined) {
      entry!.lowWater = Math.min(entry!.lowWater, entry!.free.length);
      this.reused += 1;
      return buffer;
    }
    this.allocated += 1;
    return new Uint8Array(new ArrayBuffer(size));
  }

  /**
   * give returns a buffer nobody reads or writes any more. Views of part of an ArrayBuffer and
   * detached (moved-away, length 0) buffers are ignored.
   */
  give(buffer: Uint8Array): void {
    const size = buffer.byteLength;
    if (size === 0 || buffer.byteOffset !== 0 || buffer.buffer.byteLength !== size) return;
    let entry = this.sizes.get(size);
    if (entry === undefined) {
      // A new frame size (decoder restart at another size): sizes of old generations are dropped.
      if (this.sizes.size >= 4) this.sizes.clear();
      this.sizes.set(size, (entry = { free: [], lowWater: 0 }));
    }
    if (entry.free.length < this.maxFreePerSize && !entry.free.includes(buffer)) entry.free.push(buffer);
  }

  /** freeCount is the number of buffers waiting to be reused (all sizes). */
  get freeCount(): number {
    let n = 0;
    for (const entry of this.sizes.values()) n += entry.free.length;
    return n;
  }

  /** At the end of each window, buffers that nobody took during it (beyond MIN_FREE) go. */
  private trimIfDue(): void {
    const now = this.now();
    if (now - this.windowStart < TRIM_WINDOW_MS) return;
    this.windowStart = now;
    for (const entry of this.sizes.values()) {
      const idle = Math.min(entry.lowWater, entry.free.length - MIN_FREE);
      if (idle > 0) {
        entry.free.splice(0, idle);
        this.trimmed += idle;
      }
      entry.lowWater = entry.free.length;
    }
  }
}
