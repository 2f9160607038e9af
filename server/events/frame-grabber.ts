/**
 * The frame grabber: the FrameTap of every stream (see PipelineSettings.frameTap), copying a frame
 * only when someone asked for one, so the frame path pays nothing otherwise. Output frames are
 * handed to whoever waits for the next one written at or after a frame index; with
 * `snapshots.source: input`, the last decoded frame of each stream is copied (into one reused
 * buffer per stream) before the plugins edit it.
 */
import type { FrameTap, TappedFrame } from '../pipeline/pipeline-context.ts';
import { MediaServerError } from '../errors.ts';

/** GrabbedFrame is a copied I420 frame (owned by the caller). */
export interface GrabbedFrame {
  index: number;
  width: number;
  height: number;
  /** `width * height * 3 / 2` bytes. */
  yuv: Uint8Array;
}

interface Waiter {
  minIndex: number;
  resolve(frame: GrabbedFrame): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface StreamTap {
  waiters: Waiter[];
  lastInput?: GrabbedFrame;
}

const copy = (f: TappedFrame): GrabbedFrame => ({ index: f.index, width: f.width, height: f.height, yuv: f.yuv.slice() });

/** FrameGrabber hands out copies of stream frames. */
export class FrameGrabber {
  private readonly streams = new Map<string, StreamTap>();

  constructor(private readonly keepInput: boolean) {}

  /** tap makes the FrameTap of a new stream (replacing the stream's previous one). */
  tap(streamKey: string): FrameTap {
    this.end(streamKey);
    const s: StreamTap = { waiters: [] };
    this.streams.set(streamKey, s);
    return {
      wantsInput: () => this.keepInput,
      input: (f) => {
        if (s.lastInput?.yuv.byteLength === f.yuv.byteLength) {
          s.lastInput.yuv.set(f.yuv);
          s.lastInput.index = f.index;
        } else {
          s.lastInput = copy(f);
        }
      },
      output: (f) => {
        if (s.waiters.length === 0) return;
        const ready = s.waiters.filter((w) => w.minIndex <= f.index);
        if (ready.length === 0) return;
        s.waiters = s.waiters.filter((w) => w.minIndex > f.index);
        const frame = copy(f);
        ready.forEach((w, i) => {
          clearTimeout(w.timer);
          // Each waiter owns its copy (they may be transferred to a worker).
          w.resolve(i === 0 ? frame : { ...frame, yuv: frame.yuv.slice() });
        });
      },
    };
  }

  /**
   * nextOutput resolves with a copy of the first output frame of the stream written at or after
   * frame `minIndex` (0: the next one).
   * Rejects with MediaServerError `ERR_STREAM_NOT_FOUND` (no such stream, or it ended meanwhile)
   * or `ERR_SNAPSHOT_TIMEOUT` (no frame within `timeoutMs`).
   */
  nextOutput(streamKey: string, minIndex = 0, timeoutMs = 3000): Promise<GrabbedFrame> {
    const s = this.streams.get(streamKey);
    if (!s) return Promise.reject(new MediaServerError('ERR_STREAM_NOT_FOUND', 'http', `no live stream '${streamKey}'`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        minIndex, resolve, reject,
        timer: setTimeout(() => {
          s.waiters = s.waiters.filter((w) => w !== waiter);
          reject(new MediaServerError('ERR_SNAPSHOT_TIMEOUT', 'http', `no frame of '${streamKey}' within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      s.waiters.push(waiter);
    });
  }

  /** has is true while the stream has a tap (it is live): only then can a frame of it come. */
  has(streamKey: string): boolean {
    return this.streams.has(streamKey);
  }

    /** lastInput is a copy of the stream's last decoded frame (only with `keepInput`), or undefined. */
  lastInput(streamKey: string): GrabbedFrame | undefined {
    const f = this.streams.get(streamKey)?.lastInput;
    return f && { ...f, yuv: f.yuv.slice() };
  }

  /** end forgets a stream; whoever waits for its frames is rejected (`ERR_STREAM_NOT_FOUND`). */
  end(streamKey: string): void {
    const s = this.streams.get(streamKey);
    if (!s) return;
    this.streams.delete(streamKey);
    for (const w of s.waiters) {
      clearTimeout(w.timer);
      w.reject(new MediaServerError('ERR_STREAM_NOT_FOUND', 'http', `stream '${streamKey}' ended`));
    }
  }

  /** close forgets every stream. */
  close(): void {
    for (const key of [...this.streams.keys()]) this.end(key);
  }
}
