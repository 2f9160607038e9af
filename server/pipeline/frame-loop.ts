/**
 * The frames of one stream between its decoder and its encoder: the frame scheduler (one frame at a
 * time, bounded queue, drops and repeats), the plugin chain's pool calls and their errors, the load
 * shedder, the frame stats, the writes to the encoder (bounded backlog) and the recycling of frame
 * buffers once the encoder has taken their bytes.
 */
import { performance } from 'node:perf_hooks';
import type { InferencePool } from '../inference/inference-pool.ts';
import type { EncoderSupervisor } from './encoder-supervisor.ts';
import { i420FrameSize } from './frame-reader.ts';
import { FramePool } from './frame-pool.ts';
import { FrameScheduler, type DecodedFrame } from './frame-scheduler.ts';
import { LoadShedder } from './load-shedder.ts';
import type { PipelineContext, StreamFormat } from './pipeline-context.ts';
import type { PluginChain } from './plugin-chain.ts';
import type { StreamStats } from './stream-stats.ts';
import type { Logger } from '../logger.ts';
import type { Detection } from '../../plugins/plugin-api.ts';

/** FrameDetections is what one processed frame's plugins reported. */
export interface FrameDetections {
  /** Frame index on the stream's decoded timeline. */
  frameIndex: number;
  /** Frame presentation time, ms from the stream's first decoded frame. */
  ptsMs: number;
  /** Wall-clock time (Unix epoch, ms) when the frame's processing finished. */
  wallClockMs: number;
  /** Frame size in px. */
  width: number;
  height: number;
  detections: Detection[];
}

/** The line that precedes each frame in a YUV4MPEG2 stream. */
const Y4M_FRAME_MARKER = Buffer.from('FRAME\n');

/** FrameLoop runs one stream's decoded frames through its plugin chain and writes them to its encoder. */
export class FrameLoop {
  /** Frame buffers, recycled once the encoder has taken a frame's bytes. */
  readonly framePool = new FramePool();
  private written = 0;
  private scheduler?: FrameScheduler;
  private pluginFailureLog = { lastAt: -Infinity, suppressed: 0 };
  private blankFrame?: Uint8Array;
  /** Encoder writes not yet done, per output buffer (the last output may be written repeatedly). */
  private readonly pendingWrites = new Map<Uint8Array, number>();
  /** Buffers the scheduler let go of while a write was pending. */
  private readonly released = new Set<Uint8Array>();
  private readonly shedder: LoadShedder;
  private droppedSeen = 0;

  constructor(
    private readonly ctx: PipelineContext,
    private readonly chain: PluginChain,
    private readonly pool: InferencePool,
    private readonly encoders: EncoderSupervisor,
    /** Told each processed frame's detections (after the frame left the pool; it must not block). */
    private readonly onDetections?: (event: FrameDetections) => void,
  ) {
    this.shedder = new LoadShedder(ctx.settings.maxModelIntervalFrames);
  }

  /** framesWritten counts the frames written out so far (to the encoder, or skipped): the output index of the next one. */
  get framesWritten(): number {
    return this.written;
  }

  private get format(): StreamFormat | undefined {
    return this.ctx.format;
  }

  private get streamPath(): string {
    return this.ctx.streamPath;
  }

  private get stats(): StreamStats {
    return this.ctx.stats;
  }

  private get log(): Logger {
    return this.ctx.log;
  }

  /** start makes the frame scheduler, once the stream's format is known. */
  start(): void {
    this.scheduler = new FrameScheduler((f) => this.process(f), {
      write: (out, f) => this.writeFrame(out, f),
      onDrop: () => { this.stats.dropped += 1; },
      onError: (err) => {
        this.stats.pluginErrors += 1;
        this.log.warn({ err: (err as Error).message }, 'frame processing failed; the last frame repeats');
      },
      mayPassFailed: () => !this.chain.failsClosed,
      blank: () => this.blank(),
      release: (buffer) => this.release(buffer),
    }, this.ctx.settings.maxQueueFrames);
  }

  /** push adds a decoded frame at the end of the stream's timeline (after start). */
  push(frame: DecodedFrame): void {
    this.scheduler!.push(frame);
  }

  /** pushGap stands in for a frame the decoder never delivered (after start): the last output repeats. */
  pushGap(frame: DecodedFrame): void {
    this.scheduler!.pushGap(frame);
  }

  /** observeLoad updates the queue depth and, from it and the drops, the load shedder's model interval. */
  observeLoad(): void {
    this.stats.queueDepth = this.scheduler!.queued;
    this.shedder.observe(this.stats.queueDepth, this.stats.dropped > this.droppedSeen);
    this.droppedSeen = this.stats.dropped;
    this.stats.modelIntervalFrames = this.shedder.modelIntervalFrames;
  }

  /** idle resolves once every pushed frame has been written (at once before start). */
  idle(): Promise<void> {
    return this.scheduler?.idle() ?? Promise.resolve();
  }

  private async process(frame: DecodedFrame): Promise<Uint8Array> {
    if (this.chain.passthrough) return frame.yuv;
    const { width, height, fps } = this.format!;
    const plugins = this.chain.calls();
    const ptsMs = (frame.index * 1000) / fps;
    const tap = this.ctx.settings.frameTap;
    if (tap?.input && tap.wantsInput?.()) tap.input({ index: frame.index, width, height, yuv: frame.yuv });
    const result = await this.pool.run({
      streamPath: this.streamPath, width, height, index: frame.index, ptsMs,
      yuv: frame.yuv.buffer as ArrayBuffer,
      plugins,
      modelIntervalFrames: this.shedder.modelIntervalFrames,
      shared: this.chain.shared(),
    });
    this.chain.keepStates(plugins, result.states);
    if (result.errors.length > 0) {
      this.stats.pluginErrors += result.errors.length;
      this.warnPluginFailure(result.errors, result.covered.length > 0);
    }
    for (const c of result.covered) this.stats.countCovered(c.plugin);
    this.stats.process.add(result.timings.workerMs ?? 0);
    this.stats.addStages(result.timings);
    this.stats.gauges = result.gauges;
    let inference = 0;
    for (const [k, v] of Object.entries(result.timings)) if (k.endsWith('.inferenceMs')) inference += v;
    this.stats.inference.add(inference);
    this.onDetections?.({ frameIndex: frame.index, ptsMs, wallClockMs: Date.now(), width, height, detections: result.detections });
    return new Uint8Array(result.yuv);
  }

  /** The first plugin failure is logged, then at most one line per 10 s with the count since. */
  private warnPluginFailure(errors: string[], covered: boolean): void {
    const now = performance.now();
    const log = this.pluginFailureLog;
    if (now - log.lastAt < 10_000) {
      log.suppressed += 1;
      return;
    }
    this.log.warn({ errors, failedFramesSinceLastLine: log.suppressed },
      covered ? 'plugin failed on a frame; the frame was covered (fail-closed)' : 'plugin failed on a frame; it passed unprocessed');
    log.lastAt = now;
    log.suppressed = 0;
  }

  private writeFrame(output: Uint8Array, frame: DecodedFrame): void {
    this.written += 1;
    this.ctx.settings.frameTap?.output({ index: frame.index, width: this.format!.width, height: this.format!.height, yuv: output });
    this.stats.latency.add(performance.now() - frame.decodedAt);
    this.stats.out.mark();
    this.stats.queueDepth = this.scheduler?.queued ?? 0;
    const stdin = this.encoders.current?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return;
    // An encoder starved of CPU must not queue frames without bound: past ~1 s of frames waiting,
    // the frame is skipped and the audio timeline shifts with it (see AudioTiming.writeAudio), keeping sync.
    if (stdin.writableLength > output.byteLength * Math.ceil(this.format!.fps)) {
      this.encoders.skipped += 1;
      if (!frame.dropped) this.stats.dropped += 1; // a repeat already counted is not counted twice
      return;
    }
    this.pendingWrites.set(output, (this.pendingWrites.get(output) ?? 0) + 1);
    this.stats.encoderBacklogFrames += 1;
    stdin.write(Y4M_FRAME_MARKER);
    stdin.write(output, () => this.onEncoderWriteDone(output));
  }

  /** A write to the encoder finished (or failed): the buffer may go back to the pool. */
  private onEncoderWriteDone(buffer: Uint8Array): void {
    this.stats.encoderBacklogFrames = Math.max(0, this.stats.encoderBacklogFrames - 1);
    const left = (this.pendingWrites.get(buffer) ?? 1) - 1;
    if (left > 0) {
      this.pendingWrites.set(buffer, left);
      return;
    }
    this.pendingWrites.delete(buffer);
    if (this.released.delete(buffer)) this.framePool.give(buffer);
  }

  /** The scheduler let go of a buffer: reuse it now, or once the encoder has taken its bytes. */
  private release(buffer: Uint8Array): void {
    if (buffer === this.blankFrame) return;
    if (this.pendingWrites.has(buffer)) this.released.add(buffer);
    else this.framePool.give(buffer);
  }

  private blank(): Uint8Array {
    if (!this.blankFrame) {
      const { width, height } = this.format!;
      this.blankFrame = new Uint8Array(i420FrameSize(width, height)).fill(128);
      this.blankFrame.fill(16, 0, width * height);
    }
    return this.blankFrame;
  }
}
