/**
 * What the parts of one stream's pipeline (decoder supervisor, encoder supervisor, audio timing,
 * frame loop) share: the settings, the counters, the log and the output format.
 */
import type { Logger } from '../logger.ts';
import type { StreamStats } from './stream-stats.ts';

/** TappedFrame is one I420 frame lent to a FrameTap: `yuv` is valid during the call only (copy it to keep it). */
export interface TappedFrame {
  index: number;
  width: number;
  height: number;
  yuv: Uint8Array;
}

/**
 * FrameTap lets a reader outside the frame path see frames (snapshots): it is called
 * synchronously and must return at once, copying only what it needs.
 */
export interface FrameTap {
  /** True when `input` wants the next decoded frame (checked per frame, before processing). */
  wantsInput?(): boolean;
  /** A decoded frame, before the plugins edit it. */
  input?(frame: TappedFrame): void;
  /** A frame written to the encoder (the processed output, or a repeat standing in for a dropped one). */
  output(frame: TappedFrame): void;
}

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
  /** Reader of the stream's frames (the snapshots), if any. */
  frameTap?: FrameTap;
}

/** StreamFormat is the processed output's format. */
export interface StreamFormat {
  width: number;
  height: number;
  fps: number;
  frameRate: string;
  hasAudio: boolean;
}

/** PipelineContext is the state one stream's pipeline parts share (one object per stream, owned by StreamPipeline). */
export interface PipelineContext {
  readonly streamPath: string;
  readonly settings: PipelineSettings;
  readonly stats: StreamStats;
  readonly log: Logger;
  /** Format of the processed output, set at the first decoder header; audio timing changes `hasAudio`. */
  format?: StreamFormat;
  /** Publisher presentation time (ms) of global frame 0. */
  epochPtsMs: number;
  /** Set once the stream stops: no child is started or restarted after it. */
  stopping: boolean;
}
