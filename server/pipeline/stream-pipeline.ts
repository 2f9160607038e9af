/**
 * One published stream's processing: FLV from the publisher (a StreamSource) -> decoder ffmpeg
 * -> frame scheduler -> plugin chain in the inference pool -> encoder ffmpeg -> RTMP
 * `live/stream-<key>` + HLS. It supervises both ffmpeg children: one that dies is restarted with
 * backoff, and the output's timeline goes on without a jump.
 *
 * The parts, by role: DecoderSupervisor (decoder generations, placed on the stream's timeline),
 * FrameLoop (scheduler, pool calls, encoder writes, buffer recycling), EncoderSupervisor (encoder
 * starts, restarts and replacements) and AudioTiming (audio copied to the encoder, rebased to its
 * time origin). This class makes them, settles the stream's format, and starts and ends the stream.
 *
 * Timing: every decoded frame gets a global index on a constant-frame-rate timeline anchored at the
 * first video frame's presentation time (the epoch). Audio never goes through the decoder: its FLV
 * tags go straight to the encoder (copied) with timestamps rebased to the frame the encoder started
 * at, so audio and video stay in sync across drops and restarts.
 */
import { mkdir } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.ts';
import type { MediaServerError } from '../errors.ts';
import type { InferencePool } from '../inference/inference-pool.ts';
import type { StreamSource } from '../ingest/stream-source.ts';
import { AudioTiming } from './audio-timing.ts';
import { DecoderSupervisor } from './decoder-supervisor.ts';
import { EncoderSupervisor } from './encoder-supervisor.ts';
import { FrameLoop, type FrameDetections } from './frame-loop.ts';
import type { Y4mHeader } from './frame-reader.ts';
import type { PipelineContext, PipelineSettings, StreamFormat } from './pipeline-context.ts';
import type { PluginChain } from './plugin-chain.ts';
import { StreamStats } from './stream-stats.ts';

export type { PipelineSettings, StreamFormat } from './pipeline-context.ts';

/** PipelineEvents are what a pipeline reports. */
export interface PipelineEvents {
  /** The encoder started: the processed stream's format is known. */
  started: [format: StreamFormat];
  /** The pipeline has stopped and every child has exited; `error` is set when it failed. */
  ended: [error?: MediaServerError];
  /** A processed frame's detections (emitted after the frame left the pool; listeners never delay frames). */
  detections: [event: FrameDetections];
}

const STOP_GRACE_MS = 3000;

/** StreamPipeline runs and supervises one stream. */
export class StreamPipeline extends EventEmitter<PipelineEvents> {
  readonly stats = new StreamStats();
  private readonly ctx: PipelineContext;
  private readonly decoders: DecoderSupervisor;
  private readonly encoders: EncoderSupervisor;
  private readonly audio: AudioTiming;
  private readonly frames: FrameLoop;
  private ended = false;
  private failure?: MediaServerError;

  constructor(
    readonly streamPath: string,
    chain: PluginChain,
    pool: InferencePool,
    settings: PipelineSettings,
    source: StreamSource,
    private readonly log: Logger,
  ) {
    super();
    this.ctx = { streamPath, settings, stats: this.stats, log, epochPtsMs: 0, stopping: false };
    this.encoders = new EncoderSupervisor(this.ctx, {
      audioSeen: () => this.audio.audioSeen(),
      audioSequenceHeader: () => this.audio.sequenceHeader,
      framesWritten: () => this.frames.framesWritten,
      onTimeOrigin: () => this.audio.flushPending(),
      onStoppedExit: async () => {
        const decoder = this.decoders.current;
        if (decoder) await decoder.exited;
        this.finish();
      },
    });
    this.audio = new AudioTiming(this.ctx, this.encoders, () => source.audioDeclared());
    this.frames = new FrameLoop(this.ctx, chain, pool, this.encoders, (d) => this.emit('detections', d));
    this.decoders = new DecoderSupervisor(this.ctx, source, {
      allocFrame: (size) => this.frames.framePool.take(size),
      onAudio: (tag) => this.audio.onAudio(tag),
      onFirstVideoFrame: () => { if (!this.encoders.everStarted && !this.ctx.stopping) this.encoders.start(); },
      onFormat: (header) => this.onFormat(header),
      onGap: (frame) => this.frames.pushGap(frame),
      onFrame: (frame, decoder) => {
        this.frames.push(frame);
        this.audio.onVideoFrame(decoder);
        this.frames.observeLoad();
      },
      onStoppedExit: () => this.drainAndEnd(),
      fail: (error) => this.fail(error),
    });
    this.stats.readDecoderBacklogMs = () => this.decoders.current?.pendingInputMs ?? 0;
    this.stats.readFrameBuffersAllocated = () => this.frames.framePool.allocated;
  }

  /** format is the processed output's format once started. */
  get format(): StreamFormat | undefined {
    return this.ctx.format;
  }

  /**
   * outputPtsOriginMs is the publisher presentation time (ms, the publisher's clock) that the
   * current encoder's output timestamp 0 stands for (see AudioTiming.outputPtsOriginMs);
   * undefined until the encoder starts.
   */
  get outputPtsOriginMs(): number | undefined {
    return this.audio.outputPtsOriginMs;
  }

  /**
   * start creates the HLS folder and starts the decoder. The encoder follows when the publisher's
   * first video frame arrives (onFirstVideoFrame), before it is decoded: its process start-up (~0.1 s
   * of CPU, more on a busy machine) overlaps the decoding, it waits for the stream header (written
   * once the first frame is decoded), and by then the publisher's sequence headers and metadata
   * have said whether there is audio.
   */
  async start(): Promise<void> {
    await mkdir(this.ctx.settings.hlsPlaylistPath.replace(/\/[^/]*$/, ''), { recursive: true });
    if (!this.ctx.stopping) this.decoders.start();
  }

  /** stop ends the stream: drains decoded frames, ends the outputs (playlist gets ENDLIST), reaps the children. */
  async stop(): Promise<void> {
    if (!this.ctx.stopping) {
      this.ctx.stopping = true;
      this.decoders.clearTimers();
      this.encoders.clearTimers();
      this.decoders.untap();
      const decoder = this.decoders.current;
      if (decoder?.process.running) decoder.end();
      else void this.drainAndEnd();
      const timer = setTimeout(() => { this.decoders.current?.process.kill(); this.encoders.current?.kill(); }, STOP_GRACE_MS);
      await this.whenEnded();
      clearTimeout(timer);
    }
    return this.whenEnded();
  }

  /** whenEnded resolves once the pipeline has fully ended. */
  whenEnded(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.once('ended', () => resolve()));
  }

  /** isEnded is true once every child has exited. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** childPids lists the running ffmpeg children (for tests and diagnostics). */
  get childPids(): number[] {
    return [this.decoders.current?.process.pid, this.encoders.current?.pid].filter((p): p is number => p !== undefined);
  }

  /** onFormat settles the stream's format at its first decoder header (the epoch is set by then). */
  private onFormat(header: Y4mHeader): void {
    this.ctx.format = {
      width: header.width, height: header.height, fps: header.fps, frameRate: header.frameRate,
      hasAudio: this.audio.audioSeen(),
    };
    this.frames.start();
    this.log.info({ width: header.width, height: header.height, fps: header.fps, hasAudio: this.ctx.format.hasAudio }, 'stream format');
    // The encoder was started at the first video frame (onFirstVideoFrame), before any header.
    if (this.encoders.current && this.encoders.hasAudio === this.ctx.format.hasAudio) this.encoders.sendHeader();
    // Audio turned up (or did not) after the encoder was started: start it again with the right inputs.
    else this.encoders.replace();
    this.emit('started', this.ctx.format);
  }

  /** After the decoder is gone: write what is queued, then let the encoder finish its outputs. */
  private async drainAndEnd(): Promise<void> {
    await this.frames.idle();
    if (!this.encoders.endInputs()) this.finish();
  }

  private fail(error: MediaServerError): void {
    if (this.failure || this.ended) return;
    this.failure = error;
    this.log.error({ code: error.code, category: error.category, err: error.message }, 'stream failed');
    void this.stop();
    this.decoders.current?.process.kill();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.decoders.clearTimers();
    this.encoders.clearTimers();
    this.emit('ended', this.failure);
  }
}
