/**
 * One published stream's processing: FLV from the publisher -> decoder ffmpeg -> frame scheduler
 * -> plugin chain in the inference pool -> encoder ffmpeg -> RTMP `live/stream-<key>` + HLS.
 *
 * Audio never goes through the decoder: its FLV tags go straight to the encoder (copied), their
 * timestamps rebased to the first video frame, while video frames keep a constant frame rate, so
 * the two stay in sync.
 */
import { mkdir, readFile, appendFile } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import type { InferencePool } from '../inference/inference-pool.ts';
import { buildDecoderArgs, buildEncoderArgs } from './ffmpeg-args.ts';
import { FfmpegProcess, type FfmpegExit } from './ffmpeg-process.ts';
import { FLV_AUDIO, FLV_SCRIPT, FLV_VIDEO, FlvDemuxer, flvHeader, flvTagBytes, isSequenceHeader, videoPts, type FlvTag } from './flv-demux.ts';
import { i420FrameSize, RawFrameReader, Y4mReader, type Y4mHeader } from './frame-reader.ts';
import { FrameScheduler, type DecodedFrame } from './frame-scheduler.ts';
import type { PluginChain } from './plugin-chain.ts';
import { StreamStats } from './stream-stats.ts';

/** PipelineSettings are the parts of the configuration one pipeline uses. */
export interface PipelineSettings {
  ffmpegPath: string;
  /** RTMP URL the processed stream is published to. */
  outputRtmpUrl: string;
  /** Absolute HLS playlist path; its folder is created. */
  hlsPlaylistPath: string;
  segmentDurationMs: number;
  playlistLength: number;
  encoder: { preset: string; crf: number; maxBitrateKbps: number; keyframeIntervalMs: number; threads: number };
  maxQueueFrames: number;
  startTimeoutMs: number;
}

/** PipelineEvents are what a pipeline reports. */
export interface PipelineEvents {
  /** The encoder started: the processed stream's format is known. */
  started: [info: { width: number; height: number; fps: number; hasAudio: boolean }];
  /** The pipeline has stopped and every child has exited; `error` is set when it failed. */
  ended: [error?: MediaServerError];
}

const MAX_PENDING_AUDIO_TAGS = 2000;

/** StreamPipeline runs one stream; feed it the publisher's FLV bytes with `pushFlv`. */
export class StreamPipeline extends EventEmitter<PipelineEvents> {
  readonly stats = new StreamStats();
  /** Format of the processed output once started. */
  format?: { width: number; height: number; fps: number; hasAudio: boolean };
  private decoder?: FfmpegProcess;
  private encoder?: FfmpegProcess;
  private readonly demuxer = new FlvDemuxer((tag) => this.onTag(tag));
  private scheduler?: FrameScheduler;
  private firstVideoPtsMs?: number;
  private audioSequenceHeader?: Buffer;
  private pendingAudio: FlvTag[] = [];
  private sawAudio = false;
  private audioDeclared: () => boolean = () => false;
  private pendingFrames: DecodedFrame[] = [];
  private yuvFrames: Uint8Array[] = [];
  private rgbFrames: Uint8Array[][] = [];
  private frameIndex = 0;
  private stopping = false;
  private ended = false;
  private failure?: MediaServerError;
  private startTimer?: NodeJS.Timeout;
  private blankFrame?: Uint8Array;

  constructor(
    readonly streamPath: string,
    private readonly chain: PluginChain,
    private readonly pool: InferencePool,
    private readonly settings: PipelineSettings,
    private readonly log: Logger,
  ) {
    super();
  }

  /** start spawns the decoder; the encoder follows once the first frame shows the format. */
  async start(audioDeclared: () => boolean): Promise<void> {
    this.audioDeclared = audioDeclared;
    await mkdir(this.settings.hlsPlaylistPath.replace(/\/[^/]*$/, ''), { recursive: true });
    const args = buildDecoderArgs({ modelInputs: this.chain.modelInputs });
    const decoder = new FfmpegProcess(this.settings.ffmpegPath, args, this.chain.modelInputs.length);
    this.decoder = decoder;
    this.log.debug({ pid: decoder.pid, args: args.join(' ') }, 'decoder started');
    decoder.stdin.write(flvHeader(false, true));
    const y4m = new Y4mReader((h) => this.onHeader(h), (f) => this.onYuv(f));
    decoder.stdout.on('data', (chunk: Buffer) => this.guard('decode', () => y4m.push(chunk)));
    this.rgbFrames = this.chain.modelInputs.map(() => []);
    this.chain.modelInputs.forEach((m, i) => {
      const reader = new RawFrameReader(m.width * m.height * 3, (f) => this.onRgb(i, f));
      decoder.pipe(3 + i).on('data', (chunk: Buffer) => reader.push(chunk));
    });
    decoder.exited.then((exit) => this.onDecoderExit(exit));
    this.startTimer = setTimeout(() => {
      this.fail(new MediaServerError('ERR_STREAM_START_TIMEOUT', 'decode',
        `no decodable video within ${this.settings.startTimeoutMs} ms (${decoder.stderrTail() || 'ffmpeg said nothing'})`, { fatal: true, streamPath: this.streamPath }));
    }, this.settings.startTimeoutMs);
  }

  /** pushFlv feeds bytes of the publisher's FLV stream (header first). */
  pushFlv(chunk: Buffer): void {
    if (this.stopping) return;
    this.guard('ingest', () => this.demuxer.push(chunk));
  }

  /** stop ends the stream: drains frames already decoded, ends the outputs, reaps the children. */
  async stop(): Promise<void> {
    if (this.stopping) return this.whenEnded();
    this.stopping = true;
    clearTimeout(this.startTimer);
    const ended = this.whenEnded();
    this.decoder?.stdin.end();
    const timer = setTimeout(() => { this.decoder?.kill(); this.encoder?.kill(); }, 5000);
    await ended;
    clearTimeout(timer);
    return undefined;
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

  private onTag(tag: FlvTag): void {
    if (tag.type === FLV_VIDEO) {
      if (this.firstVideoPtsMs === undefined && !isSequenceHeader(tag)) this.firstVideoPtsMs = videoPts(tag);
      this.decoder?.stdin.write(flvTagBytes(tag.type, tag.dts, tag.data));
    } else if (tag.type === FLV_SCRIPT) {
      this.decoder?.stdin.write(flvTagBytes(tag.type, tag.dts, tag.data));
    } else if (tag.type === FLV_AUDIO) {
      this.sawAudio = true;
      if (isSequenceHeader(tag)) {
        this.audioSequenceHeader = Buffer.from(tag.data);
      } else if (this.encoder && this.format?.hasAudio) {
        this.writeAudio(tag);
      } else if (!this.encoder) {
        this.pendingAudio.push({ ...tag, data: Buffer.from(tag.data) });
        if (this.pendingAudio.length > MAX_PENDING_AUDIO_TAGS) this.pendingAudio.shift();
      }
    }
  }

  private writeAudio(tag: FlvTag): void {
    const ts = tag.dts - (this.firstVideoPtsMs ?? 0);
    if (ts < 0) return;
    this.encoder?.pipe(3).write(flvTagBytes(FLV_AUDIO, ts, tag.data));
  }

  private onHeader(header: Y4mHeader): void {
    const hasAudio = this.sawAudio || this.audioDeclared();
    this.format = { width: header.width, height: header.height, fps: header.fps, hasAudio };
    const s = this.settings;
    const args = buildEncoderArgs({
      width: header.width, height: header.height, frameRate: header.frameRate, fps: header.fps, hasAudio,
      rtmpUrl: s.outputRtmpUrl, hlsPlaylistPath: s.hlsPlaylistPath, segmentDurationMs: s.segmentDurationMs,
      playlistLength: s.playlistLength, ...s.encoder,
    });
    const encoder = new FfmpegProcess(s.ffmpegPath, args, hasAudio ? 1 : 0);
    this.encoder = encoder;
    this.log.info({ pid: encoder.pid, width: header.width, height: header.height, fps: header.fps, hasAudio }, 'encoder started');
    encoder.exited.then((exit) => this.onEncoderExit(exit));
    if (hasAudio) {
      const audio = encoder.pipe(3);
      audio.write(flvHeader(true, false));
      if (this.audioSequenceHeader) audio.write(flvTagBytes(FLV_AUDIO, 0, this.audioSequenceHeader));
      for (const tag of this.pendingAudio) this.writeAudio(tag);
    }
    this.pendingAudio = [];
    this.scheduler = new FrameScheduler((f) => this.process(f), {
      write: (out, f) => this.writeFrame(out, f),
      onDrop: () => { this.stats.dropped += 1; },
      onError: (err) => {
        this.stats.pluginErrors += 1;
        this.log.warn({ err: (err as Error).message }, 'frame processing failed; the last frame repeats');
      },
      blank: () => this.blank(),
    }, s.maxQueueFrames);
    this.emit('started', this.format);
  }

  private onYuv(frame: Uint8Array): void {
    clearTimeout(this.startTimer);
    this.yuvFrames.push(frame);
    this.pairFrames();
  }

  private onRgb(input: number, frame: Uint8Array): void {
    this.rgbFrames[input].push(frame);
    this.pairFrames();
  }

  private pairFrames(): void {
    while (this.yuvFrames.length > 0 && this.rgbFrames.every((q) => q.length > 0)) {
      const frame: DecodedFrame = {
        index: this.frameIndex++,
        yuv: this.yuvFrames.shift()!,
        modelInputs: this.rgbFrames.map((q) => q.shift()!),
        decodedAt: performance.now(),
      };
      this.stats.in.mark();
      this.scheduler?.push(frame);
      this.stats.queueDepth = this.scheduler?.queued ?? 0;
    }
  }

  private async process(frame: DecodedFrame): Promise<Uint8Array> {
    if (this.chain.passthrough) return frame.yuv;
    const { width, height } = this.format!;
    const result = await this.pool.run({
      streamPath: this.streamPath, width, height, index: frame.index,
      ptsMs: (frame.index * 1000) / this.format!.fps,
      yuv: frame.yuv.buffer as ArrayBuffer,
      modelInputs: frame.modelInputs.map((rgb, i) => ({ ...this.chain.modelInputs[i], rgb: rgb.buffer as ArrayBuffer })),
      plugins: this.chain.calls(),
    });
    this.chain.keepStates(result.states);
    if (result.errors.length > 0) {
      this.stats.pluginErrors += result.errors.length;
      this.log.warn({ errors: result.errors }, 'plugin failed on a frame; it passed unprocessed');
    }
    this.stats.process.add(result.timings.workerMs ?? 0);
    const inference = Object.entries(result.timings).filter(([k]) => k.endsWith('.inferenceMs')).reduce((a, [, v]) => a + v, 0);
    this.stats.inference.add(inference);
    return new Uint8Array(result.yuv);
  }

  private writeFrame(output: Uint8Array, frame: DecodedFrame): void {
    this.stats.latency.add(performance.now() - frame.decodedAt);
    this.stats.out.mark();
    this.stats.queueDepth = this.scheduler?.queued ?? 0;
    this.encoder?.stdin.write(output);
  }

  private blank(): Uint8Array {
    if (!this.blankFrame) {
      const { width, height } = this.format!;
      this.blankFrame = new Uint8Array(i420FrameSize(width, height)).fill(128);
      this.blankFrame.fill(16, 0, width * height);
    }
    return this.blankFrame;
  }

  private async onDecoderExit(exit: FfmpegExit): Promise<void> {
    clearTimeout(this.startTimer);
    if (!this.stopping && !this.failure) {
      this.fail(new MediaServerError('ERR_FFMPEG_EXITED', 'decode',
        `decoder exited (code ${exit.code}, signal ${exit.signal}): ${exit.stderrTail || 'no message'}`, { fatal: true, streamPath: this.streamPath }));
    }
    await this.scheduler?.idle();
    this.encoder?.stdin.end();
    if (this.format?.hasAudio) this.encoder?.pipe(3).end();
    if (!this.encoder) this.finish();
  }

  private async onEncoderExit(exit: FfmpegExit): Promise<void> {
    if (!this.stopping && !this.failure && exit.code !== 0) {
      this.fail(new MediaServerError('ERR_FFMPEG_EXITED', 'encode',
        `encoder exited (code ${exit.code}, signal ${exit.signal}): ${exit.stderrTail || 'no message'}`, { fatal: true, streamPath: this.streamPath }));
    }
    await this.endPlaylist();
    this.decoder?.kill();
    await this.decoder?.exited;
    this.finish();
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

  private fail(error: MediaServerError): void {
    if (this.failure || this.ended) return;
    this.failure = error;
    this.log.error({ code: error.code, category: error.category, err: error.message }, 'stream failed');
    this.stopping = true;
    this.decoder?.stdin.end();
    this.decoder?.kill();
    if (!this.encoder) this.decoder ? undefined : this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.startTimer);
    this.emit('ended', this.failure);
  }

  private guard(category: 'ingest' | 'decode', fn: () => void): void {
    try {
      fn();
    } catch (cause) {
      this.fail(new MediaServerError(category === 'ingest' ? 'ERR_BAD_FLV' : 'ERR_BAD_FRAMES', category,
        `${(cause as Error).message}`, { fatal: true, streamPath: this.streamPath, cause }));
    }
  }
}
