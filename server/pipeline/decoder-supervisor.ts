/**
 * The decoder side of one stream: starts a decoder generation (DecoderSession) on the source's FLV,
 * gives it a start timeout, restarts it with backoff when it dies (failing the stream after
 * repeated failed starts), replaces it when the publisher's video parameters change, and places
 * each generation's frames on the stream's global timeline.
 *
 * Timing: every decoded frame gets a global index on a constant-frame-rate timeline anchored at the
 * first video frame's presentation time (the epoch); frames the decoder never delivered (e.g. while
 * it restarted) become gaps on it.
 */
import { MediaServerError } from '../errors.ts';
import type { StreamSource } from '../ingest/stream-source.ts';
import type { FfmpegExit } from './ffmpeg-process.ts';
import type { FlvTag } from './flv-demux.ts';
import type { Y4mHeader } from './frame-reader.ts';
import type { DecodedFrame } from './frame-scheduler.ts';
import { DecoderSession, type DecodedPicture } from './decoder-session.ts';
import type { PipelineContext, StreamFormat } from './pipeline-context.ts';
import { Backoff } from './restart-backoff.ts';

const MAX_FAILED_STARTS = 3;

/** DecoderSupervisorHooks are what a DecoderSupervisor hands on to the rest of its pipeline. */
export interface DecoderSupervisorHooks {
  /** allocFrame gives a buffer of `size` bytes for one decoded I420 frame. */
  allocFrame(size: number): Uint8Array;
  /** onAudio gets the publisher's audio tags, as they arrive (the decoder never sees audio). */
  onAudio(tag: FlvTag): void;
  /** onFirstVideoFrame is told that a generation's first video frame arrived, before it is decoded. */
  onFirstVideoFrame(): void;
  /** onFormat gets the stream's first decoder header; the epoch is set by then. */
  onFormat(header: Y4mHeader): void;
  /** onGap gets a frame the decoder never delivered (already counted as dropped). */
  onGap(frame: DecodedFrame): void;
  /** onFrame gets a decoded frame on the global timeline, with the generation that decoded it. */
  onFrame(frame: DecodedFrame, decoder: DecoderSession): void;
  /** onStoppedExit is told that the decoder exited while the stream stops. */
  onStoppedExit(): Promise<void>;
  /** fail ends the stream with a fatal error. */
  fail(error: MediaServerError): void;
}

/** DecoderSupervisor runs, restarts and replaces one stream's decoder generations. */
export class DecoderSupervisor {
  private decoder?: DecoderSession;
  private untapSource: () => void = () => {};
  private readonly decoderBase = new WeakMap<DecoderSession, number>();
  private nextIndex = 0;
  private failedStarts = 0;
  private readonly backoff = new Backoff();
  private restartTimer?: NodeJS.Timeout;
  private startTimer?: NodeJS.Timeout;

  constructor(
    private readonly ctx: PipelineContext,
    private readonly source: StreamSource,
    private readonly hooks: DecoderSupervisorHooks,
  ) {}

  private get format(): StreamFormat | undefined {
    return this.ctx.format;
  }

  /** current is the running decoder generation; undefined before the first start. */
  get current(): DecoderSession | undefined {
    return this.decoder;
  }

  /** start starts a decoder generation and taps the source for it. */
  start(): void {
    const outputSize = this.format && { width: this.format.width, height: this.format.height };
    const previous = this.decoder?.videoSequenceHeader;
    const decoder: DecoderSession = new DecoderSession(this.ctx.settings.ffmpegPath, {
      onHeader: (h) => this.onDecoderHeader(decoder, h),
      onPicture: (p) => this.onPicture(decoder, p),
      onAudio: (tag) => this.hooks.onAudio(tag),
      onFirstVideoFrame: () => this.hooks.onFirstVideoFrame(),
      onVideoConfigChange: () => this.replaceDecoder(decoder, 'the publisher changed video parameters'),
      onInputSkipped: () => { this.ctx.stats.decoderSkippedTags += 1; },
      onError: (err) => this.hooks.fail(new MediaServerError('ERR_BAD_INPUT', 'ingest', err.message, { fatal: true, streamPath: this.ctx.streamPath, cause: err })),
      allocFrame: (size) => this.hooks.allocFrame(size),
    }, outputSize, previous, this.ctx.settings.decoderThreads);
    this.decoder = decoder;
    this.ctx.log.debug({ pid: decoder.process.pid }, 'decoder started');
    decoder.exited.then((exit) => this.onDecoderExit(decoder, exit));
    this.untapSource = this.source.tap((chunk) => decoder.push(chunk));
    clearTimeout(this.startTimer);
    this.startTimer = setTimeout(() => {
      if (this.decoder !== decoder || this.decoderBase.has(decoder)) return;
      this.hooks.fail(new MediaServerError('ERR_STREAM_START_TIMEOUT', 'decode',
        `no decodable H.264 video within ${this.ctx.settings.startTimeoutMs} ms${decoder.process.stderrTail() ? `: ${decoder.process.stderrTail()}` : ''}`,
        { fatal: true, streamPath: this.ctx.streamPath }));
    }, this.ctx.settings.startTimeoutMs);
  }

  /** untap stops the source's bytes to the current decoder. */
  untap(): void {
    this.untapSource();
  }

  /** clearTimers cancels a pending restart and the start timeout. */
  clearTimers(): void {
    clearTimeout(this.restartTimer);
    clearTimeout(this.startTimer);
  }

  /** replaceDecoder swaps in a new decoder generation now (used for codec parameter changes). */
  private replaceDecoder(old: DecoderSession, reason: string): void {
    if (this.ctx.stopping || this.decoder !== old) return;
    this.ctx.log.info({ reason }, 'restarting the decoder');
    this.ctx.stats.restarts += 1;
    this.untap();
    old.end();
    old.process.kill();
    this.start();
  }

  private onDecoderHeader(decoder: DecoderSession, header: Y4mHeader): void {
    if (decoder !== this.decoder) return;
    // A header means decodable video: an overloaded machine may still take a while for frames.
    clearTimeout(this.startTimer);
    if (this.format) {
      if (header.width !== this.format.width || header.height !== this.format.height) {
        this.hooks.fail(new MediaServerError('ERR_FORMAT_CHANGED', 'decode', `decoder output changed to ${header.width}x${header.height}`, { fatal: true, streamPath: this.ctx.streamPath }));
      }
      return;
    }
    this.ctx.epochPtsMs = decoder.firstPtsMs ?? 0;
    this.hooks.onFormat(header);
  }

  private onPicture(decoder: DecoderSession, picture: DecodedPicture): void {
    // The frame loop starts with the format (StreamPipeline.onFormat), so a format means it runs.
    if (decoder !== this.decoder || !this.format) return;
    const epochPtsMs = this.ctx.epochPtsMs;
    let base = this.decoderBase.get(decoder);
    if (base === undefined) {
      clearTimeout(this.startTimer);
      this.failedStarts = 0;
      // A restarted decoder begins at the publisher's last keyframe: place it on the timeline.
      base = Math.round((((decoder.firstPtsMs ?? epochPtsMs) - epochPtsMs) * this.format.fps) / 1000);
      // A publisher clock jump (reconnect, wrap) must neither freeze nor flood the output.
      if (Math.abs(base - this.nextIndex) > this.format.fps * 10) base = this.nextIndex;
      this.decoderBase.set(decoder, base);
    }
    const index = base + picture.localIndex;
    if (index < this.nextIndex) return; // already on the output (a restart replays the current GOP)
    while (this.nextIndex < index) {
      this.ctx.stats.dropped += 1;
      this.hooks.onGap({ index: this.nextIndex++, yuv: new Uint8Array(0), decodedAt: picture.decodedAt, dropped: true });
    }
    this.ctx.stats.in.mark();
    this.hooks.onFrame({ index: this.nextIndex++, yuv: picture.yuv, decodedAt: picture.decodedAt }, decoder);
  }

  private async onDecoderExit(decoder: DecoderSession, exit: FfmpegExit): Promise<void> {
    if (decoder !== this.decoder) return;
    if (this.ctx.stopping) {
      await this.hooks.onStoppedExit();
      return;
    }
    this.untap();
    if (!this.decoderBase.has(decoder)) this.failedStarts += 1;
    if (this.failedStarts >= MAX_FAILED_STARTS) {
      this.hooks.fail(new MediaServerError('ERR_FFMPEG_EXITED', 'decode',
        `decoder failed ${this.failedStarts} times without a frame (code ${exit.code}, signal ${exit.signal}): ${exit.stderrTail || 'no message'}`,
        { fatal: true, streamPath: this.ctx.streamPath }));
      return;
    }
    const delay = this.backoff.next();
    this.ctx.stats.restarts += 1;
    this.ctx.log.warn({ code: exit.code, signal: exit.signal, stderr: exit.stderrTail, delayMs: delay }, 'decoder exited; restarting');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => { if (!this.ctx.stopping) this.start(); }, delay);
  }
}
