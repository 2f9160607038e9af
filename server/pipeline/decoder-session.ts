/**
 * One run of a stream's decoder ffmpeg (a "generation"): it is fed FLV from the tap, and cuts its
 * output into I420 frames. A pipeline replaces it with a
 * new one when ffmpeg dies or the publisher's codec parameters change.
 */
import { performance } from 'node:perf_hooks';
import { buildDecoderArgs } from './ffmpeg-args.ts';
import { FfmpegProcess, type FfmpegExit } from './ffmpeg-process.ts';
import { openFrameFifo, type FrameFifo } from './frame-fifo.ts';
import { FLV_AUDIO, FLV_VIDEO, FlvDemuxer, flvHeader, flvTagBytes, isSequenceHeader, videoPts, type FlvTag } from './flv-demux.ts';
import { Y4mReader, type FrameAllocator, type Y4mHeader } from './frame-reader.ts';

/** DecodedPicture is one decoder output frame, numbered within its generation. */
export interface DecodedPicture {
  /** 0-based index within this decoder generation. */
  localIndex: number;
  /** I420 bytes, a whole ArrayBuffer. */
  yuv: Uint8Array;
  /** performance.now() when the frame was read. */
  decodedAt: number;
}

/** DecoderHooks receive what a decoder generation produces. */
export interface DecoderHooks {
  onHeader(header: Y4mHeader): void;
  onPicture(picture: DecodedPicture): void;
  /** Audio tags of the publisher, as they arrive (the decoder never sees audio). */
  onAudio(tag: FlvTag): void;
  /** The publisher sent new video codec parameters (e.g. a resolution change). */
  onVideoConfigChange(): void;
  /**
   * This generation's first video frame arrived (not a sequence header): the sequence headers and
   * metadata a publisher sends before its media have been seen. Called before the frame is decoded.
   */
  onFirstVideoFrame?(): void;
  /** A video tag was not given to ffmpeg because it was too far behind (dropped to the next keyframe). */
  onInputSkipped?(): void;
  /** The FLV or the decoder output was malformed. */
  onError(error: Error): void;
  /** Where frame buffers come from (default: a new ArrayBuffer each). */
  allocFrame?: FrameAllocator;
}

const SUPPORTED_VIDEO = new Set([7]); // FLV codec id 7 = H.264/AVC
/** Input waiting for the decoder beyond which video is dropped to the next keyframe (bytes). */
const MAX_PENDING_INPUT_BYTES = 4 * 1024 * 1024;
/**
 * Input waiting for the decoder, in ms at the stream's recent bitrate, beyond which video is
 * dropped to the next keyframe. A decoder that keeps up takes each tag as it comes (nothing waits
 * beyond the OS pipe); one short of CPU would otherwise fall further behind for as long as the
 * overload lasts, and every second it falls behind is a second of latency the stream keeps.
 */
const MAX_PENDING_INPUT_MS = 1000;
/** Time constant of the input bitrate estimate, ms (also how long before the time bound applies). */
const BITRATE_WINDOW_MS = 3000;

/** DecoderSession runs one decoder ffmpeg. */
export class DecoderSession {
  readonly process: FfmpegProcess;
  /** Resolves once ffmpeg has exited and every frame it wrote has been read (never rejects). */
  readonly exited: Promise<FfmpegExit>;
  /** Presentation time (ms, publisher clock) of this generation's first video frame. */
  firstPtsMs?: number;
  /** Decoding time (ms, publisher clock) of the newest video frame the publisher sent this generation. */
  newestVideoDtsMs?: number;
  header?: Y4mHeader;
  private readonly demuxer: FlvDemuxer;
  private localIndex = 0;
  private videoConfig?: Buffer;
  private closed = false;
  private skippingToKeyframe = false;
  /** Recent video input rate, bytes per ms (exponentially weighted over BITRATE_WINDOW_MS). */
  private inputBytesPerMs = 0;
  private firstInputAt?: number;
  private lastInputAt = 0;

  /**
   * @param outputSize when set, every frame is scaled (aspect kept, padded) to this size, so a
   *   publisher's resolution change does not change the output's.
   * @param previousVideoConfig the AVC sequence header the last generation ran with, to notice changes.
   * @param threads decoding threads (0 = ffmpeg's automatic count).
   */
  constructor(ffmpegPath: string, private readonly hooks: DecoderHooks,
    outputSize?: { width: number; height: number }, previousVideoConfig?: Buffer, threads = 0) {
    this.videoConfig = previousVideoConfig;
    // Frames come through a FIFO read straight into pooled frame buffers (frame-fifo.ts); where
    // FIFOs are unavailable, through an ordinary stdout pipe.
    let fifo: FrameFifo | undefined;
    try {
      fifo = openFrameFifo();
    } catch {
      fifo = undefined;
    }
    this.process = new FfmpegProcess(ffmpegPath, buildDecoderArgs({ outputSize, threads }), 0, fifo?.writeFd);
    this.process.stdin.write(flvHeader(false, true));
    this.demuxer = new FlvDemuxer((tag) => this.onTag(tag));
    const y4m = new Y4mReader((h) => { this.header = h; hooks.onHeader(h); }, (yuv) => {
      hooks.onPicture({ localIndex: this.localIndex++, yuv, decodedAt: performance.now() });
    }, hooks.allocFrame);
    if (fifo) {
      const read = fifo;
      const drained = new Promise<void>((resolve) => {
        read.read(() => y4m.readTarget(), (n, buffer) => this.guard(() => y4m.wrote(n, buffer)), () => {
          read.close();
          resolve();
        });
      });
      this.exited = Promise.all([this.process.exited, drained]).then(([exit]) => exit);
    } else {
      this.process.stdout!.on('data', (chunk: Buffer) => this.guard(() => y4m.push(chunk)));
      this.exited = this.process.exited;
    }
  }

  /** videoSequenceHeader is the AVC configuration this generation decodes with. */
  get videoSequenceHeader(): Buffer | undefined {
    return this.videoConfig;
  }

  /**
   * pendingInputMs is the video input waiting for ffmpeg to read it (beyond the OS pipe), in ms of
   * the stream's recent bitrate: about 0 while the decoder keeps up.
   */
  get pendingInputMs(): number {
    const pending = this.process.stdin.writableLength;
    if (pending === 0) return 0;
    return this.inputBytesPerMs > 0 ? pending / this.inputBytesPerMs : Infinity;
  }

  /**
   * isBehind: more than MAX_PENDING_INPUT_BYTES wait for ffmpeg, or, once the bitrate estimate has
   * had BITRATE_WINDOW_MS to settle, more than MAX_PENDING_INPUT_MS of it.
   */
  private isBehind(now: number): boolean {
    if (this.process.stdin.writableLength > MAX_PENDING_INPUT_BYTES) return true;
    const rateKnown = this.firstInputAt !== undefined && now - this.firstInputAt >= BITRATE_WINDOW_MS;
    return rateKnown && this.pendingInputMs > MAX_PENDING_INPUT_MS;
  }

  /** countInput adds a video tag's bytes to the bitrate estimate. */
  private countInput(bytes: number, now: number): void {
    this.firstInputAt ??= now;
    this.inputBytesPerMs = this.inputBytesPerMs * Math.exp(-(now - this.lastInputAt) / BITRATE_WINDOW_MS) + bytes / BITRATE_WINDOW_MS;
    this.lastInputAt = now;
  }

  /** push feeds the publisher's FLV bytes. */
  push(chunk: Buffer): void {
    if (!this.closed) this.guard(() => this.demuxer.push(chunk));
  }

  /** end closes the decoder's input; it then flushes its last frames and exits. */
  end(): void {
    this.closed = true;
    this.process.stdin.end();
  }

  private onTag(tag: FlvTag): void {
    if (tag.type === FLV_AUDIO) {
      this.hooks.onAudio(tag);
      return;
    }
    if (tag.type === FLV_VIDEO) {
      // ffmpeg 5.1 reads neither enhanced-RTMP FLV (HEVC, AV1, VP9) nor legacy codecs well here.
      const enhanced = (tag.data[0] & 0x80) !== 0;
      if (enhanced || !SUPPORTED_VIDEO.has(tag.data[0] & 0x0f)) {
        const codec = enhanced ? `enhanced RTMP '${tag.data.toString('latin1', 1, 5)}'` : `FLV codec id ${tag.data[0] & 0x0f}`;
        throw new Error(`unsupported video codec (${codec}); publish H.264`);
      }
      if (isSequenceHeader(tag)) {
        if (this.videoConfig && !this.videoConfig.equals(tag.data) && this.firstPtsMs !== undefined) {
          this.closed = true;
          this.hooks.onVideoConfigChange();
          return;
        }
        this.videoConfig = Buffer.from(tag.data);
      } else {
        this.newestVideoDtsMs = tag.dts;
        if (this.firstPtsMs === undefined) {
          this.firstPtsMs = videoPts(tag);
          this.hooks.onFirstVideoFrame?.();
        }
      }
    }
    // Video only: ffmpeg would start its timeline at a metadata tag's timestamp (0) and pad up to the
    // first frame with duplicates, delaying video against the audio that bypasses the decoder.
    if (tag.type !== FLV_VIDEO) return;
    // A decoder starved of CPU must not fall behind without bound: past either limit, video is
    // dropped up to the next keyframe at which it has caught up (ffmpeg's constant-rate output
    // repeats the last frame over the gap), so an overload costs frames, not lasting latency.
    if (!isSequenceHeader(tag)) {
      const now = performance.now();
      const keyframe = (tag.data[0] >> 4) === 1;
      const behind = this.isBehind(now);
      this.countInput(tag.data.length, now);
      if ((this.skippingToKeyframe && !keyframe) || behind) {
        this.skippingToKeyframe = true;
        this.hooks.onInputSkipped?.();
        return;
      }
      this.skippingToKeyframe = false;
    }
    this.process.stdin.write(flvTagBytes(tag.type, tag.dts, tag.data));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.closed = true;
      this.hooks.onError(err as Error);
    }
  }
}
