/**
 * The encoder side of one stream: starts the encoder ffmpeg (YUV4MPEG2 frames on stdin, FLV audio on
 * fd 3 -> libx264 -> RTMP + HLS), gives it its stream header, restarts it with backoff when it dies,
 * replaces it when the stream's audio comes or goes, and ends the playlist of one that was killed.
 */
import { readFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { buildEncoderArgs } from './ffmpeg-args.ts';
import { FfmpegProcess, type FfmpegExit } from './ffmpeg-process.ts';
import { FLV_AUDIO, flvHeader, flvTagBytes } from './flv-demux.ts';
import type { PipelineContext } from './pipeline-context.ts';
import { Backoff } from './restart-backoff.ts';

/** EncoderHooks are what an EncoderSupervisor asks of the rest of its pipeline. */
export interface EncoderHooks {
  /** audioSeen tells whether the publisher has declared or sent audio so far. */
  audioSeen(): boolean;
  /** audioSequenceHeader is the publisher's AAC sequence header, once it has been sent. */
  audioSequenceHeader(): Buffer | undefined;
  /** framesWritten counts the frames written out so far (the output index of the next one). */
  framesWritten(): number;
  /** onTimeOrigin is told that the current encoder's timestamp 0 was just set (its header went in). */
  onTimeOrigin(): void;
  /** onStoppedExit is told that the encoder exited while the stream stops, once its playlist is ended. */
  onStoppedExit(): Promise<void>;
}

/** EncoderSupervisor runs, restarts and replaces one stream's encoder ffmpeg. */
export class EncoderSupervisor {
  /** Frames skipped because the current encoder's input was full (counted by the frame loop). */
  skipped = 0;
  private encoder?: FfmpegProcess;
  private encoderStartIndex = 0;
  /** Whether an encoder was ever started for this stream (later ones are restarts). */
  private encoderEverStarted = false;
  /** Whether the current encoder was started with an audio input (fd 3). */
  private encoderHasAudio = false;
  /** Whether the current encoder's audio input has been given the AAC sequence header. */
  private encoderHasAudioConfig = false;
  private readonly backoff = new Backoff();
  private restartTimer?: NodeJS.Timeout;

  constructor(private readonly ctx: PipelineContext, private readonly hooks: EncoderHooks) {}

  /** current is the running encoder; undefined before the first start and between an exit and its restart. */
  get current(): FfmpegProcess | undefined {
    return this.encoder;
  }

  /** startIndex is the output index the current encoder's timestamp 0 stands at (set when its header goes in). */
  get startIndex(): number {
    return this.encoderStartIndex;
  }

  /** everStarted tells whether an encoder was ever started for this stream (later ones are restarts). */
  get everStarted(): boolean {
    return this.encoderEverStarted;
  }

  /** hasAudio tells whether the current encoder was started with an audio input (fd 3). */
  get hasAudio(): boolean {
    return this.encoderHasAudio;
  }

  /**
   * start starts an encoder that reads the stream header and frames from stdin. Audio
   * presence is the format's once known, else what the publisher has shown so far (its metadata, or
   * audio tags); the header goes in once the format is known (now, or in StreamPipeline.onFormat).
   */
  start(): void {
    const s = this.ctx.settings;
    const hasAudio = this.ctx.format?.hasAudio ?? this.hooks.audioSeen();
    const args = buildEncoderArgs({
      hasAudio, rtmpUrl: s.outputRtmpUrl, hlsPlaylistPath: s.hlsPlaylistPath, segmentDurationMs: s.segmentDurationMs,
      playlistLength: s.playlistLength, ...s.encoder, continuePlaylist: existsSync(s.hlsPlaylistPath),
    });
    const encoder = new FfmpegProcess(s.ffmpegPath, args, hasAudio ? 1 : 0);
    this.encoder = encoder;
    this.encoderEverStarted = true;
    this.encoderHasAudio = hasAudio;
    this.encoderHasAudioConfig = false;
    this.ctx.log.info({ pid: encoder.pid, hasAudio }, 'encoder started');
    encoder.exited.then((exit) => this.onExit(encoder, exit));
    if (hasAudio) {
      encoder.pipe(3).write(flvHeader(true, false));
      this.sendAudioConfig();
    }
    if (this.ctx.format) this.sendHeader();
  }

  /**
   * replace kills the current encoder and starts one for the format as it is now (frames
   * its stdin still held are lost) and returns true. With no encoder running (between an exit and
   * its restart), nothing happens and it returns false: the restart takes the format as it is then.
   */
  replace(): boolean {
    if (!this.encoder) return false;
    const stale = this.encoder;
    this.encoder = undefined;
    stale.kill();
    this.start();
    return true;
  }

  /** sendAudioConfig gives the encoder's audio input the AAC sequence header, once. */
  sendAudioConfig(): void {
    const header = this.hooks.audioSequenceHeader();
    if (!this.encoder || !this.encoderHasAudio || this.encoderHasAudioConfig || !header) return;
    this.encoder.pipe(3).write(flvTagBytes(FLV_AUDIO, 0, header));
    this.encoderHasAudioConfig = true;
  }

  /**
   * sendHeader starts the encoder's video: the YUV4MPEG2 header (size and rate only; no
   * colour tags, see buildEncoderArgs), then the audio held back until the output's time origin
   * was known. The encoder's timestamp 0 is the next frame written. It runs as soon as both the
   * encoder and the format exist (start, StreamPipeline.onFormat), before any frame can be written,
   * so an encoder with a known format always has its header.
   */
  sendHeader(): void {
    const { width, height, frameRate } = this.ctx.format!;
    const encoder = this.encoder!;
    encoder.stdin.write(`YUV4MPEG2 W${width} H${height} F${frameRate.replace('/', ':')}\n`);
    this.encoderStartIndex = this.hooks.framesWritten();
    this.skipped = 0;
    this.hooks.onTimeOrigin();
  }

  /** endInputs closes the current encoder's inputs so it finishes its outputs; false when none runs. */
  endInputs(): boolean {
    const encoder = this.encoder;
    if (!encoder) return false;
    encoder.stdin.end();
    if (this.encoderHasAudio) encoder.pipe(3).end();
    return true;
  }

  /** clearTimers cancels a pending restart. */
  clearTimers(): void {
    clearTimeout(this.restartTimer);
  }

  private async onExit(encoder: FfmpegProcess, exit: FfmpegExit): Promise<void> {
    if (encoder !== this.encoder) return;
    if (this.ctx.stopping) {
      this.encoder = undefined;
      await this.endPlaylist();
      await this.hooks.onStoppedExit();
      return;
    }
    this.encoder = undefined;
    const delay = this.backoff.next();
    this.ctx.stats.restarts += 1;
    this.ctx.log.warn({ code: exit.code, signal: exit.signal, stderr: exit.stderrTail, delayMs: delay }, 'encoder exited; restarting');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => { if (!this.ctx.stopping) this.start(); }, delay);
  }

  /** A killed encoder cannot end its playlist; do it so players stop waiting. */
  private async endPlaylist(): Promise<void> {
    try {
      const text = await readFile(this.ctx.settings.hlsPlaylistPath, 'utf8');
      if (!text.includes('#EXT-X-ENDLIST')) await appendFile(this.ctx.settings.hlsPlaylistPath, '#EXT-X-ENDLIST\n');
    } catch {
      // no playlist was written: nothing to end
    }
  }
}
