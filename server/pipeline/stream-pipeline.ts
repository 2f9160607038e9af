/**
 * One published stream's processing: FLV from the publisher (a StreamSource) -> decoder ffmpeg
 * -> frame scheduler -> plugin chain in the inference pool -> encoder ffmpeg -> RTMP
 * `live/stream-<key>` + HLS. It supervises both ffmpeg children: one that dies is restarted with
 * backoff, and the output's timeline goes on without a jump.
 *
 * Timing: every decoded frame gets a global index on a constant-frame-rate timeline anchored at the
 * first video frame's presentation time (the epoch). Audio never goes through the decoder: its FLV
 * tags go straight to the encoder (copied) with timestamps rebased to the frame the encoder started
 * at, so audio and video stay in sync across drops and restarts.
 */
import { mkdir, readFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import type { InferencePool } from '../inference/inference-pool.ts';
import type { StreamSource } from '../ingest/stream-source.ts';
import { buildEncoderArgs } from './ffmpeg-args.ts';
import { FfmpegProcess, type FfmpegExit } from './ffmpeg-process.ts';
import { FLV_AUDIO, flvHeader, flvTagBytes, isSequenceHeader, type FlvTag } from './flv-demux.ts';
import { i420FrameSize, type Y4mHeader } from './frame-reader.ts';
import { FramePool } from './frame-pool.ts';
import { FrameScheduler, type DecodedFrame } from './frame-scheduler.ts';
import { DecoderSession, type DecodedPicture } from './decoder-session.ts';
import type { PluginChain } from './plugin-chain.ts';
import { StreamStats } from './stream-stats.ts';
import { LoadShedder } from './load-shedder.ts';

/** PipelineSettings are the parts of the configuration one pipeline uses. */
export interface PipelineSettings {
  ffmpegPath: string;
  /** RTMP URL the processed stream is published to. */
  outputRtmpUrl: string;
  /** Absolute HLS playlist path; its folder is created. */
  hlsPlaylistPath: string;
  segmentDurationMs: number;
  playlistLength: number;
  encoder: { preset: string; crf: number; maxBitrateKbps: number; keyframeIntervalMs: number; threads: number; deblock: boolean };
  maxQueueFrames: number;
  /** Decoding threads per stream (0 = ffmpeg's automatic count). */
  decoderThreads: number;
  /** How long a decoder may take to deliver its first frame, ms. */
  startTimeoutMs: number;
  /** Load shedding: the most frames between model runs (1 = never shed). */
  maxModelIntervalFrames: number;
}

/** StreamFormat is the processed output's format. */
export interface StreamFormat {
  width: number;
  height: number;
  fps: number;
  frameRate: string;
  hasAudio: boolean;
}

/** PipelineEvents are what a pipeline reports. */
export interface PipelineEvents {
  /** The encoder started: the processed stream's format is known. */
  started: [format: StreamFormat];
  /** The pipeline has stopped and every child has exited; `error` is set when it failed. */
  ended: [error?: MediaServerError];
}

const MAX_PENDING_AUDIO_TAGS = 2000;
const STABLE_AFTER_MS = 30_000;
const MAX_FAILED_STARTS = 3;
const STOP_GRACE_MS = 3000;
/**
 * How far (ms, publisher clock) the publisher's video may run ahead of its newest audio before the
 * stream's audio counts as stopped and its encoder is started again without an audio input.
 */
const AUDIO_GAP_MS = 2000;
/** The line that precedes each frame in a YUV4MPEG2 stream. */
const Y4M_FRAME_MARKER = Buffer.from('FRAME\n');

/** Backoff keeps consecutive restarts apart: 250 ms, 500 ms, 1 s, 2 s, then 4 s; reset once stable. */
class Backoff {
  private attempts = 0;
  private lastAt = 0;
  next(): number {
    const now = performance.now();
    if (now - this.lastAt > STABLE_AFTER_MS) this.attempts = 0;
    this.lastAt = now;
    this.attempts += 1;
    return Math.min(4000, 250 * 2 ** (this.attempts - 1));
  }
}

/** StreamPipeline runs and supervises one stream. */
export class StreamPipeline extends EventEmitter<PipelineEvents> {
  readonly stats = new StreamStats();
  /** Format of the processed output once started. */
  format?: StreamFormat;
  private decoder?: DecoderSession;
  private untap: () => void = () => {};
  private encoder?: FfmpegProcess;
  private scheduler?: FrameScheduler;
  /** Publisher presentation time (ms) of global frame 0. */
  private epochPtsMs = 0;
  private readonly decoderBase = new WeakMap<DecoderSession, number>();
  private nextIndex = 0;
  private written = 0;
  private encoderStartIndex = 0;
  /** Frames skipped because the current encoder's input was full. */
  private encoderSkipped = 0;
  /** Whether an encoder was ever started for this stream (later ones are restarts). */
  private encoderEverStarted = false;
  /** Whether the current encoder was started with an audio input (fd 3). */
  private encoderHasAudio = false;
  /** Whether the current encoder's audio input has been given the AAC sequence header. */
  private encoderHasAudioConfig = false;
  private pluginFailureLog = { lastAt: -Infinity, suppressed: 0 };
  private audioSequenceHeader?: Buffer;
  /** Decoding time (ms, publisher clock) of the publisher's newest audio tag; undefined before any. */
  private newestAudioDtsMs?: number;
  private pendingAudio: FlvTag[] = [];
  private failedStarts = 0;
  private readonly decoderBackoff = new Backoff();
  private readonly encoderBackoff = new Backoff();
  private decoderRestartTimer?: NodeJS.Timeout;
  private encoderRestartTimer?: NodeJS.Timeout;
  private startTimer?: NodeJS.Timeout;
  private stopping = false;
  private ended = false;
  private failure?: MediaServerError;
  private blankFrame?: Uint8Array;
  /** Frame buffers, recycled once the encoder has taken a frame's bytes. */
  private readonly framePool = new FramePool();
  /** Encoder writes not yet done, per output buffer (the last output may be written repeatedly). */
  private readonly pendingWrites = new Map<Uint8Array, number>();
  /** Buffers the scheduler let go of while a write was pending. */
  private readonly released = new Set<Uint8Array>();
  private readonly shedder: LoadShedder;
  private droppedSeen = 0;

  constructor(
    readonly streamPath: string,
    private readonly chain: PluginChain,
    private readonly pool: InferencePool,
    private readonly settings: PipelineSettings,
    private readonly source: StreamSource,
    private readonly log: Logger,
  ) {
    super();
    this.shedder = new LoadShedder(settings.maxModelIntervalFrames);
    this.stats.readDecoderBacklogMs = () => this.decoder?.pendingInputMs ?? 0;
    this.stats.readFrameBuffersAllocated = () => this.framePool.allocated;
  }

  /**
   * start creates the HLS folder and starts the decoder. The encoder follows when the publisher's
   * first video frame arrives (onFirstVideoFrame), before it is decoded: its process start-up (~0.1 s
   * of CPU, more on a busy machine) overlaps the decoding, it waits for the stream header (written
   * once the first frame is decoded), and by then the publisher's sequence headers and metadata
   * have said whether there is audio.
   */
  async start(): Promise<void> {
    await mkdir(this.settings.hlsPlaylistPath.replace(/\/[^/]*$/, ''), { recursive: true });
    if (!this.stopping) this.startDecoder();
  }

  /** stop ends the stream: drains decoded frames, ends the outputs (playlist gets ENDLIST), reaps the children. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      clearTimeout(this.decoderRestartTimer);
      clearTimeout(this.encoderRestartTimer);
      clearTimeout(this.startTimer);
      this.untap();
      if (this.decoder?.process.running) this.decoder.end();
      else void this.drainAndEnd();
      const timer = setTimeout(() => { this.decoder?.process.kill(); this.encoder?.kill(); }, STOP_GRACE_MS);
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
    return [this.decoder?.process.pid, this.encoder?.pid].filter((p): p is number => p !== undefined);
  }

  // ---- decoder --------------------------------------------------------------------------------

  private startDecoder(): void {
    const outputSize = this.format && { width: this.format.width, height: this.format.height };
    const previous = this.decoder?.videoSequenceHeader;
    const decoder: DecoderSession = new DecoderSession(this.settings.ffmpegPath, {
      onHeader: (h) => this.onDecoderHeader(decoder, h),
      onPicture: (p) => this.onPicture(decoder, p),
      onAudio: (tag) => this.onAudio(tag),
      onFirstVideoFrame: () => { if (!this.encoderEverStarted && !this.stopping) this.startEncoder(); },
      onVideoConfigChange: () => this.replaceDecoder(decoder, 'the publisher changed video parameters'),
      onInputSkipped: () => { this.stats.decoderSkippedTags += 1; },
      onError: (err) => this.fail(new MediaServerError('ERR_BAD_INPUT', 'ingest', err.message, { fatal: true, streamPath: this.streamPath, cause: err })),
      allocFrame: (size) => this.framePool.take(size),
    }, outputSize, previous, this.settings.decoderThreads);
    this.decoder = decoder;
    this.log.debug({ pid: decoder.process.pid }, 'decoder started');
    decoder.exited.then((exit) => this.onDecoderExit(decoder, exit));
    this.untap = this.source.tap((chunk) => decoder.push(chunk));
    clearTimeout(this.startTimer);
    this.startTimer = setTimeout(() => {
      if (this.decoder !== decoder || this.decoderBase.has(decoder)) return;
      this.fail(new MediaServerError('ERR_STREAM_START_TIMEOUT', 'decode',
        `no decodable H.264 video within ${this.settings.startTimeoutMs} ms${decoder.process.stderrTail() ? `: ${decoder.process.stderrTail()}` : ''}`,
        { fatal: true, streamPath: this.streamPath }));
    }, this.settings.startTimeoutMs);
  }

  /** replaceDecoder swaps in a new decoder generation now (used for codec parameter changes). */
  private replaceDecoder(old: DecoderSession, reason: string): void {
    if (this.stopping || this.decoder !== old) return;
    this.log.info({ reason }, 'restarting the decoder');
    this.stats.restarts += 1;
    this.untap();
    old.end();
    old.process.kill();
    this.startDecoder();
  }

  private onDecoderHeader(decoder: DecoderSession, header: Y4mHeader): void {
    if (decoder !== this.decoder) return;
    // A header means decodable video: an overloaded machine may still take a while for frames.
    clearTimeout(this.startTimer);
    if (this.format) {
      if (header.width !== this.format.width || header.height !== this.format.height) {
        this.fail(new MediaServerError('ERR_FORMAT_CHANGED', 'decode', `decoder output changed to ${header.width}x${header.height}`, { fatal: true, streamPath: this.streamPath }));
      }
      return;
    }
    this.epochPtsMs = decoder.firstPtsMs ?? 0;
    this.format = {
      width: header.width, height: header.height, fps: header.fps, frameRate: header.frameRate,
      hasAudio: this.audioSeen(),
    };
    this.scheduler = new FrameScheduler((f) => this.process(f), {
      write: (out, f) => this.writeFrame(out, f),
      onDrop: () => { this.stats.dropped += 1; },
      onError: (err) => {
        this.stats.pluginErrors += 1;
        this.log.warn({ err: (err as Error).message }, 'frame processing failed; the last frame repeats');
      },
      blank: () => this.blank(),
      release: (buffer) => this.release(buffer),
    }, this.settings.maxQueueFrames);
    this.log.info({ width: header.width, height: header.height, fps: header.fps, hasAudio: this.format.hasAudio }, 'stream format');
    // The encoder was started at the first video frame (onFirstVideoFrame), before any header.
    if (this.encoder && this.encoderHasAudio === this.format.hasAudio) this.sendEncoderHeader();
    // Audio turned up (or did not) after the encoder was started: start it again with the right inputs.
    else this.replaceEncoder();
    this.emit('started', this.format);
  }

  private onPicture(decoder: DecoderSession, picture: DecodedPicture): void {
    if (decoder !== this.decoder || !this.format || !this.scheduler) return;
    let base = this.decoderBase.get(decoder);
    if (base === undefined) {
      clearTimeout(this.startTimer);
      this.failedStarts = 0;
      // A restarted decoder begins at the publisher's last keyframe: place it on the timeline.
      base = Math.round((((decoder.firstPtsMs ?? this.epochPtsMs) - this.epochPtsMs) * this.format.fps) / 1000);
      // A publisher clock jump (reconnect, wrap) must neither freeze nor flood the output.
      if (Math.abs(base - this.nextIndex) > this.format.fps * 10) base = this.nextIndex;
      this.decoderBase.set(decoder, base);
    }
    const index = base + picture.localIndex;
    if (index < this.nextIndex) return; // already on the output (a restart replays the current GOP)
    while (this.nextIndex < index) {
      this.stats.dropped += 1;
      this.scheduler.pushGap({ index: this.nextIndex++, yuv: new Uint8Array(0), decodedAt: picture.decodedAt, dropped: true });
    }
    this.stats.in.mark();
    this.scheduler.push({ index: this.nextIndex++, yuv: picture.yuv, decodedAt: picture.decodedAt });
    if (this.encoderHasAudio && this.format.hasAudio) this.checkAudioGoesOn(decoder);
    this.stats.queueDepth = this.scheduler.queued;
    this.shedder.observe(this.stats.queueDepth, this.stats.dropped > this.droppedSeen);
    this.droppedSeen = this.stats.dropped;
    this.stats.modelIntervalFrames = this.shedder.modelIntervalFrames;
  }

  private async onDecoderExit(decoder: DecoderSession, exit: FfmpegExit): Promise<void> {
    if (decoder !== this.decoder) return;
    if (this.stopping) {
      await this.drainAndEnd();
      return;
    }
    this.untap();
    if (!this.decoderBase.has(decoder)) this.failedStarts += 1;
    if (this.failedStarts >= MAX_FAILED_STARTS) {
      this.fail(new MediaServerError('ERR_FFMPEG_EXITED', 'decode',
        `decoder failed ${this.failedStarts} times without a frame (code ${exit.code}, signal ${exit.signal}): ${exit.stderrTail || 'no message'}`,
        { fatal: true, streamPath: this.streamPath }));
      return;
    }
    const delay = this.decoderBackoff.next();
    this.stats.restarts += 1;
    this.log.warn({ code: exit.code, signal: exit.signal, stderr: exit.stderrTail, delayMs: delay }, 'decoder exited; restarting');
    clearTimeout(this.decoderRestartTimer);
    this.decoderRestartTimer = setTimeout(() => { if (!this.stopping) this.startDecoder(); }, delay);
  }

  // ---- audio ----------------------------------------------------------------------------------

  private onAudio(tag: FlvTag): void {
    this.newestAudioDtsMs = tag.dts;
    if (this.format && !this.format.hasAudio && !this.stopping) this.onLateAudio();
    if (isSequenceHeader(tag)) {
      this.audioSequenceHeader = Buffer.from(tag.data);
      this.sendEncoderAudioConfig();
      return;
    }
    if (!this.format) {
      this.pendingAudio.push({ ...tag, data: Buffer.from(tag.data) });
      if (this.pendingAudio.length > MAX_PENDING_AUDIO_TAGS) this.pendingAudio.shift();
    } else if (this.format.hasAudio && this.encoder) {
      this.writeAudio(tag);
    }
  }

  /**
   * onLateAudio takes audio that first turns up after the stream format was settled without it (a
   * publisher whose audio starts later than its video): the format gains audio and the encoder,
   * which has no audio input, is started again with one. Its output continues after a
   * discontinuity, as after an encoder restart (counted in `restarts`; the output time origin
   * moves). Audio that checkAudioGoesOn found stopped comes back the same way.
   */
  private onLateAudio(): void {
    this.format!.hasAudio = true;
    this.log.info({}, 'audio turned up after the stream format was settled; starting the encoder again with an audio input');
    if (this.replaceEncoder()) this.stats.restarts += 1;
  }

  /**
   * checkAudioGoesOn takes a publisher whose audio stopped while its video goes on: its video ran
   * AUDIO_GAP_MS past its newest audio (or past its first video frame, for audio its metadata
   * declared and never sent), by the publisher's own timestamps, so a stall of this process cannot
   * fake it. ffmpeg muxes its inputs in timestamp order and waits for the audio input before it
   * muxes video past the last audio, so an encoder with an audio input that gets none freezes its
   * output. The format loses its audio and the encoder is started again without one (counted in
   * `restarts`; the output continues after a discontinuity). Audio that comes back is taken again
   * by onLateAudio.
   */
  private checkAudioGoesOn(decoder: DecoderSession): void {
    const video = decoder.newestVideoDtsMs;
    const audio = this.newestAudioDtsMs ?? this.epochPtsMs;
    if (video === undefined || video - audio <= AUDIO_GAP_MS) return;
    this.format!.hasAudio = false;
    this.log.warn({ videoAheadMs: video - audio }, 'no audio from the publisher while video goes on; starting the encoder again without audio');
    if (this.replaceEncoder()) this.stats.restarts += 1;
  }

  /**
   * replaceEncoder kills the current encoder and starts one for the format as it is now (frames
   * its stdin still held are lost) and returns true. With no encoder running (between an exit and
   * its restart), nothing happens and it returns false: the restart takes the format as it is then.
   */
  private replaceEncoder(): boolean {
    if (!this.encoder) return false;
    const stale = this.encoder;
    this.encoder = undefined;
    stale.kill();
    this.startEncoder();
    return true;
  }

  /**
   * outputPtsOriginMs is the publisher presentation time (ms, the publisher's clock) that the
   * current encoder's output timestamp 0 stands for: the output frame with pts t ms carries the
   * publisher's frame at `outputPtsOriginMs + t` (or repeats an earlier one when that frame was
   * dropped). Undefined until the encoder starts; it moves when the encoder restarts or skips a
   * frame, and audio follows it (writeAudio).
   */
  get outputPtsOriginMs(): number | undefined {
    if (!this.format || !this.encoder) return undefined;
    return this.epochPtsMs + ((this.encoderStartIndex + this.encoderSkipped) * 1000) / this.format.fps;
  }

  private writeAudio(tag: FlvTag): void {
    const origin = this.outputPtsOriginMs;
    if (origin === undefined) return;
    const ts = Math.round(tag.dts - origin);
    if (ts >= 0) this.encoder!.pipe(3).write(flvTagBytes(FLV_AUDIO, ts, tag.data));
  }

  // ---- encoder --------------------------------------------------------------------------------

  /**
   * startEncoder starts an encoder that reads the stream header and frames from stdin. Audio
   * presence is the format's once known, else what the publisher has shown so far (its metadata, or
   * audio tags); the header goes in once the format is known (now, or in onDecoderHeader).
   */
  private startEncoder(): void {
    const s = this.settings;
    const hasAudio = this.format?.hasAudio ?? this.audioSeen();
    const args = buildEncoderArgs({
      hasAudio, rtmpUrl: s.outputRtmpUrl, hlsPlaylistPath: s.hlsPlaylistPath, segmentDurationMs: s.segmentDurationMs,
      playlistLength: s.playlistLength, ...s.encoder, continuePlaylist: existsSync(s.hlsPlaylistPath),
    });
    const encoder = new FfmpegProcess(s.ffmpegPath, args, hasAudio ? 1 : 0);
    this.encoder = encoder;
    this.encoderEverStarted = true;
    this.encoderHasAudio = hasAudio;
    this.encoderHasAudioConfig = false;
    this.log.info({ pid: encoder.pid, hasAudio }, 'encoder started');
    encoder.exited.then((exit) => this.onEncoderExit(encoder, exit));
    if (hasAudio) {
      encoder.pipe(3).write(flvHeader(true, false));
      this.sendEncoderAudioConfig();
    }
    if (this.format) this.sendEncoderHeader();
  }

  /** audioSeen tells whether the publisher has declared or sent audio so far. */
  private audioSeen(): boolean {
    return this.pendingAudio.length > 0 || this.audioSequenceHeader !== undefined || this.source.audioDeclared();
  }

  /** sendEncoderAudioConfig gives the encoder's audio input the AAC sequence header, once. */
  private sendEncoderAudioConfig(): void {
    if (!this.encoder || !this.encoderHasAudio || this.encoderHasAudioConfig || !this.audioSequenceHeader) return;
    this.encoder.pipe(3).write(flvTagBytes(FLV_AUDIO, 0, this.audioSequenceHeader));
    this.encoderHasAudioConfig = true;
  }

  /**
   * sendEncoderHeader starts the encoder's video: the YUV4MPEG2 header (size and rate only; no
   * colour tags, see buildEncoderArgs), then the audio held back until the output's time origin
   * was known. The encoder's timestamp 0 is the next frame written. It runs as soon as both the
   * encoder and the format exist (startEncoder, onDecoderHeader), before any frame can be written,
   * so an encoder with a known format always has its header.
   */
  private sendEncoderHeader(): void {
    const { width, height, frameRate } = this.format!;
    const encoder = this.encoder!;
    encoder.stdin.write(`YUV4MPEG2 W${width} H${height} F${frameRate.replace('/', ':')}\n`);
    this.encoderStartIndex = this.written;
    this.encoderSkipped = 0;
    if (this.encoderHasAudio) for (const tag of this.pendingAudio) this.writeAudio(tag);
    this.pendingAudio = [];
  }

  private async onEncoderExit(encoder: FfmpegProcess, exit: FfmpegExit): Promise<void> {
    if (encoder !== this.encoder) return;
    if (this.stopping) {
      this.encoder = undefined;
      await this.endPlaylist();
      if (this.decoder) await this.decoder.exited;
      this.finish();
      return;
    }
    this.encoder = undefined;
    const delay = this.encoderBackoff.next();
    this.stats.restarts += 1;
    this.log.warn({ code: exit.code, signal: exit.signal, stderr: exit.stderrTail, delayMs: delay }, 'encoder exited; restarting');
    clearTimeout(this.encoderRestartTimer);
    this.encoderRestartTimer = setTimeout(() => { if (!this.stopping) this.startEncoder(); }, delay);
  }

  /** A killed encoder cannot end its playlist; do it so players stop waiting. */
  private async endPlaylist(): Promise<void> {
    try {
      const text = await readFile(this.settings.hlsPlaylistPath, 'utf8');
      if (!text.includes('#EXT-X-ENDLIST')) await appendFile(this.settings.hlsPlaylistPath, '#EXT-X-ENDLIST\n');
    } catch {
      // no playlist was written: nothing to end
    }
  }

  // ---- frames ---------------------------------------------------------------------------------

  private async process(frame: DecodedFrame): Promise<Uint8Array> {
    if (this.chain.passthrough) return frame.yuv;
    const { width, height, fps } = this.format!;
    const result = await this.pool.run({
      streamPath: this.streamPath, width, height, index: frame.index, ptsMs: (frame.index * 1000) / fps,
      yuv: frame.yuv.buffer as ArrayBuffer,
      plugins: this.chain.calls(),
      modelIntervalFrames: this.shedder.modelIntervalFrames,
    });
    this.chain.keepStates(result.states);
    if (result.errors.length > 0) {
      this.stats.pluginErrors += result.errors.length;
      this.warnPluginFailure(result.errors);
    }
    this.stats.process.add(result.timings.workerMs ?? 0);
    this.stats.addStages(result.timings);
    let inference = 0;
    for (const [k, v] of Object.entries(result.timings)) if (k.endsWith('.inferenceMs')) inference += v;
    this.stats.inference.add(inference);
    return new Uint8Array(result.yuv);
  }

  /** The first plugin failure is logged, then at most one line per 10 s with the count since. */
  private warnPluginFailure(errors: string[]): void {
    const now = performance.now();
    const log = this.pluginFailureLog;
    if (now - log.lastAt < 10_000) {
      log.suppressed += 1;
      return;
    }
    this.log.warn({ errors, failedFramesSinceLastLine: log.suppressed }, 'plugin failed on a frame; it passed unprocessed');
    log.lastAt = now;
    log.suppressed = 0;
  }

  private writeFrame(output: Uint8Array, frame: DecodedFrame): void {
    this.written += 1;
    this.stats.latency.add(performance.now() - frame.decodedAt);
    this.stats.out.mark();
    this.stats.queueDepth = this.scheduler?.queued ?? 0;
    const stdin = this.encoder?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return;
    // An encoder starved of CPU must not queue frames without bound: past ~1 s of frames waiting,
    // the frame is skipped and the audio timeline shifts with it (see writeAudio), keeping sync.
    if (stdin.writableLength > output.byteLength * Math.ceil(this.format!.fps)) {
      this.encoderSkipped += 1;
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

  // ---- ending ---------------------------------------------------------------------------------

  /** After the decoder is gone: write what is queued, then let the encoder finish its outputs. */
  private async drainAndEnd(): Promise<void> {
    await this.scheduler?.idle();
    const encoder = this.encoder;
    if (!encoder) {
      this.finish();
      return;
    }
    encoder.stdin.end();
    if (this.encoderHasAudio) encoder.pipe(3).end();
  }

  private fail(error: MediaServerError): void {
    if (this.failure || this.ended) return;
    this.failure = error;
    this.log.error({ code: error.code, category: error.category, err: error.message }, 'stream failed');
    void this.stop();
    this.decoder?.process.kill();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.startTimer);
    clearTimeout(this.decoderRestartTimer);
    clearTimeout(this.encoderRestartTimer);
    this.emit('ended', this.failure);
  }
}
