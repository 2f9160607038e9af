/**
 * What the parts of one stream's pipeline (decoder supervisor, encoder supervisor, audio timing,
 * frame loop) share: the settings, the counters, the log and the output format.
 */
import type { Logger } from '../logger.ts';
import type { StreamStats } from './stream-stats.ts';

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
