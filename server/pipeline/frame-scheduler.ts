/**
 * Keeps one stream's frames in order between the decoder and the encoder, with a bounded queue.
 *
 * One frame of a stream is processed at a time (plugin state such as the previous mask travels from
 * frame to frame). Frames wait in a queue of at most `maxQueueFrames`; when processing falls behind,
 * the oldest waiting frame is dropped and the last output frame is repeated in its place, so the
 * output keeps its constant frame rate (and audio stays in sync) while latency stays bounded.
 */
import { performance } from 'node:perf_hooks';

/** DecodedFrame is one decoder output frame on the stream's timeline. */
export interface DecodedFrame {
  index: number;
  /** I420 bytes. */
  yuv: Uint8Array;
  /** performance.now() when the decoder delivered it. */
  decodedAt: number;
  /** Set once the frame is counted as dropped (queue overflow or a gap), so it is counted once. */
  dropped?: boolean;
}

/** ProcessFrame turns a frame into output bytes; it may take ownership of the frame's buffers. */
export type ProcessFrame = (frame: DecodedFrame) => Promise<Uint8Array>;

type SlotStatus = 'queued' | 'running' | 'done' | 'dropped';

interface Slot {
  frame: DecodedFrame;
  status: SlotStatus;
  output?: Uint8Array;
}

/** SchedulerHooks are told what happens to each frame. */
export interface SchedulerHooks {
  /** write gets output frames strictly in input order. */
  write(output: Uint8Array, frame: DecodedFrame): void;
  /** onDrop is called for each dropped frame. */
  onDrop?(frame: DecodedFrame): void;
  /** onError is called when processing a frame failed (its output then repeats the last one). */
  onError?(error: unknown, frame: DecodedFrame): void;
  /**
   * mayPassFailed says whether a frame that failed before any output exists may go out as decoded
   * (true when absent); false while a fail-closed plugin is in the chain: the blank frame goes out.
   */
  mayPassFailed?(): boolean;
  /** blank makes a neutral frame for when nothing else can be written (no output yet, input lost). */
  blank(): Uint8Array;
  /**
   * release is told of a buffer the scheduler no longer holds (a dropped frame's input, an output
   * no longer the last one), so it can be reused once whatever else reads it is done with it.
   */
  release?(buffer: Uint8Array): void;
}

/** FrameScheduler orders, bounds and drops frames for one stream. */
export class FrameScheduler {
  private readonly slots: Slot[] = [];
  private running = false;
  private lastOutput?: Uint8Array;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly process: ProcessFrame,
    private readonly hooks: SchedulerHooks,
    private readonly maxQueueFrames: number,
  ) {}

  /** queued is the number of frames waiting to be processed. */
  get queued(): number {
    return this.slots.filter((s) => s.status === 'queued').length;
  }

  /** push adds a decoded frame at the end of the stream's timeline. */
  push(frame: DecodedFrame): void {
    this.slots.push({ frame, status: 'queued' });
    let waiting = this.queued;
    for (const slot of this.slots) {
      if (waiting <= this.maxQueueFrames) break;
      if (slot.status === 'queued') {
        slot.status = 'dropped';
        slot.frame.dropped = true;
        waiting -= 1;
        this.hooks.onDrop?.(slot.frame);
        // Its input will never be read: only queued frames are dropped, and one always runs ahead
        // of them, whose output repeats in their place. Handed back now, not at flush: a long stall
        // of the running frame (a starved or stuck worker) would otherwise keep every frame decoded
        // meanwhile, ~1.4 MB each at 720p, 30 a second.
        this.hooks.release?.(slot.frame.yuv);
      }
    }
    this.pump();
    this.flush();
  }

  /**
   * pushGap stands in for a frame the decoder never delivered (e.g. while it restarted): the last
   * output repeats in its place so the timeline keeps its constant frame rate.
   */
  pushGap(frame: DecodedFrame): void {
    this.slots.push({ frame, status: 'dropped' });
    this.flush();
  }

  /** idle resolves once every pushed frame has been written. */
  idle(): Promise<void> {
    if (this.slots.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.running) return;
    const slot = this.slots.find((s) => s.status === 'queued');
    if (!slot) return;
    slot.status = 'running';
    this.running = true;
    this.process(slot.frame).then(
      (output) => { slot.output = output; },
      (error) => { this.hooks.onError?.(error, slot.frame); },
    ).finally(() => {
      slot.status = 'done';
      this.running = false;
      this.flush();
      this.pump();
    });
  }

  private flush(): void {
    while (this.slots.length > 0) {
      const head = this.slots[0];
      if (head.status === 'queued' || head.status === 'running') break;
      this.slots.shift();
      // A dropped or failed frame repeats the last output. Before any output exists a failed frame
      // goes out as decoded unless a fail-closed plugin forbids it; a dropped one's input was handed
      // back (push) or never existed (a gap).
      const dropped = head.status === 'dropped';
      const raw = !dropped && (this.hooks.mayPassFailed?.() ?? true);
      let output = head.output ?? this.lastOutput ?? (raw ? head.frame.yuv : this.hooks.blank());
      // A failed worker keeps the transferred input; the frame's buffer is then detached (empty).
      if (output.byteLength === 0) output = this.lastOutput ?? this.hooks.blank();
      const previous = this.lastOutput;
      this.lastOutput = output;
      this.hooks.write(output, head.frame);
      if (previous !== undefined && previous !== output) this.hooks.release?.(previous);
      if (head.frame.yuv !== output && !dropped) this.hooks.release?.(head.frame.yuv);
    }
    if (this.slots.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
