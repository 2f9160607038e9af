/**
 * Recycles one stream's frame-sized ArrayBuffers (I420 frames, RGB24 model inputs).
 *
 * Every frame used to land in a fresh 1.4 MB ArrayBuffer (1280x720 I420); at 30 fps that is
 * ~41 MB/s of external memory per stream, and the garbage collector ran on the main thread for
 * about 40 % of its busy time. A frame's buffer travels decoder reader -> worker (moved) -> back
 * (moved) -> encoder stdin; once the encoder has taken the bytes it comes back here.
 */

/** Free buffers kept per size (the rest are left to the garbage collector). */
const DEFAULT_MAX_FREE = 8;

/** FramePool hands out and takes back whole ArrayBuffers, keyed by byte size. */
export class FramePool {
  private readonly free = new Map<number, Uint8Array[]>();
  /** Buffers handed out that were new allocations, and buffers that came back and were reused. */
  allocated = 0;
  reused = 0;

  constructor(private readonly maxFreePerSize = DEFAULT_MAX_FREE) {}

  /**
   * take returns a buffer of `size` bytes with unspecified contents (a recycled one when there is
   * one), viewing its whole ArrayBuffer, so it can be moved to a worker thread.
   */
  take(size: number): Uint8Array {
    const buffer = this.free.get(size)?.pop();
    if (buffer !== undefined) {
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
    let list = this.free.get(size);
    if (list === undefined) {
      // A new frame size (decoder restart at another size): sizes of old generations are dropped.
      if (this.free.size >= 4) this.free.clear();
      this.free.set(size, (list = []));
    }
    if (list.length < this.maxFreePerSize && !list.includes(buffer)) list.push(buffer);
  }

  /** freeCount is the number of buffers waiting to be reused (all sizes). */
  get freeCount(): number {
    let n = 0;
    for (const list of this.free.values()) n += list.length;
    return n;
  }
}
