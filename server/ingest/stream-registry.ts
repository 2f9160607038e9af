/**
 * The stream registry: starts a pipeline when a publisher of `live/<key>` is accepted, stops it
 * when the publisher leaves, and answers what is live for the API, the player and the metrics.
 */
import { resolve, join } from 'node:path';
import { rm } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import type { InferencePool } from '../inference/inference-pool.ts';
import { PluginChain } from '../pipeline/plugin-chain.ts';
import { StreamPipeline } from '../pipeline/stream-pipeline.ts';
import type { StreamStatsSnapshot } from '../pipeline/stream-stats.ts';
import { REFUSAL_REASONS, type NmsIngest, type PublishInfo } from './nms-adapter.ts';
import { NmsFlvSource } from './nms-flv-source.ts';
import { STREAM_APP, outputName } from './stream-key.ts';
import { backgroundOptions, queryToRequest, type BackgroundRequest } from './stream-options.ts';

/** StreamInfo is one live stream as `GET /api/streams` lists it. */
export interface StreamInfo {
  key: string;
  /** The publisher's stream path, e.g. `/live/demo`. */
  streamPath: string;
  /** The processed output's path, e.g. `/live/stream-demo`. */
  outputPath: string;
  /** URL path of the processed HLS playlist. */
  hlsPath: string;
  /** 'starting' until the first frame is encoded, then 'live'. */
  state: 'starting' | 'live';
  startedAt: string;
  width?: number;
  height?: number;
  fps?: number;
  hasAudio?: boolean;
  /**
   * Publisher presentation time (ms, the publisher's clock) that the output's timestamp 0 stands
   * for: the output frame with pts t ms carries the publisher's frame at `outputPtsOriginMs + t`.
   * Set once the encoder runs; it moves when the encoder restarts or skips frames.
   */
  outputPtsOriginMs?: number;
  background: Record<string, unknown>;
  stats: StreamStatsSnapshot;
  /** Error message when the stream failed to start. */
  error?: string;
}

interface Entry {
  info: PublishInfo;
  pipeline: StreamPipeline;
  chain: PluginChain;
  request: BackgroundRequest;
  startedAt: Date;
}

/**
 * PUBLISH_REFUSAL_REASONS are the reasons refused publishes are counted under: the ingest's (see
 * REFUSAL_REASONS) and 'options', background options on the stream key that are not valid.
 */
export const PUBLISH_REFUSAL_REASONS = [...REFUSAL_REASONS, 'options'] as const;

/** RegistryEvents let the metrics and logs follow streams. */
export interface RegistryEvents {
  streamStarted: [key: string];
  streamEnded: [key: string, error?: MediaServerError];
}

/** StreamRegistry owns every stream's pipeline. */
export class StreamRegistry extends EventEmitter<RegistryEvents> {
  private readonly streams = new Map<string, Entry>();
  private readonly cleanupTimers = new Map<string, NodeJS.Timeout>();
  private readonly refusals = new Map<string, number>(PUBLISH_REFUSAL_REASONS.map((reason) => [reason, 0]));

  constructor(
    private readonly config: ServerConfig,
    private readonly ingest: NmsIngest,
    private readonly pool: InferencePool,
    private readonly ffmpegPath: string,
    private readonly log: Logger,
  ) {
    super();
    ingest.on('publish', (info) => void this.onPublish(info));
    ingest.on('unpublish', (info) => void this.onUnpublish(info));
    ingest.on('refused', (reason) => this.countRefusal(reason));
  }

  /** refusedPublishes counts refused publishes by reason (PUBLISH_REFUSAL_REASONS) since the server started. */
  refusedPublishes(): ReadonlyMap<string, number> {
    return this.refusals;
  }

  private countRefusal(reason: string): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  /** list returns the live streams. */
  list(): StreamInfo[] {
    return [...this.streams.values()].map((e) => this.describe(e));
  }

  /** get returns one live stream, or undefined. */
  get(key: string): StreamInfo | undefined {
    const e = this.streams.get(key);
    return e && this.describe(e);
  }

  /** maxStreams is `pipeline.maxStreams`: publishers processed at once before more are refused (0 = no limit). */
  get maxStreams(): number {
    return this.config.pipeline.maxStreams;
  }

  /** size is the number of live streams. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * setBackground changes a live stream's background options; the next frames use them.
   * @throws MediaServerError `ERR_STREAM_NOT_FOUND`, `ERR_PLUGIN_OPTIONS`, `ERR_BACKGROUND_IMAGE`.
   */
  setBackground(key: string, request: BackgroundRequest): Record<string, unknown> {
    const e = this.streams.get(key);
    if (!e) throw new MediaServerError('ERR_STREAM_NOT_FOUND', 'http', `no live stream '${key}'`);
    const merged = { ...e.request, ...request };
    e.chain.setOptions('background', backgroundOptions(this.config.background, merged));
    e.request = merged;
    const options = this.publicBackground(e);
    this.log.info({ streamPath: e.info.streamPath, background: options }, 'background changed');
    return options;
  }

  /** stopAll ends every stream (their playlists get EXT-X-ENDLIST) and waits for the children. */
  async stopAll(): Promise<void> {
    for (const timer of this.cleanupTimers.values()) clearTimeout(timer);
    this.cleanupTimers.clear();
    await Promise.all([...this.streams.values()].map((e) => e.pipeline.stop()));
  }

  private hlsDir(key: string): string {
    return resolve(join(this.config.mediaRoot, STREAM_APP, outputName(key)));
  }

  private async onPublish(info: PublishInfo): Promise<void> {
    const log = this.log.child({ streamPath: info.streamPath });
    const previous = this.streams.get(info.key);
    if (previous) {
      await previous.pipeline.stop();
    }
    // A publisher back within the retention time continues the old playlist (with a
    // discontinuity); a new publish starts a clean one.
    const reconnect = previous !== undefined || this.cleanupTimers.has(info.key);
    clearTimeout(this.cleanupTimers.get(info.key));
    this.cleanupTimers.delete(info.key);
    if (!reconnect) await rm(this.hlsDir(info.key), { recursive: true, force: true });
    let chain: PluginChain;
    const request = queryToRequest(info.query);
    try {
      const plugins = this.config.pipeline.plugins.map((name) => ({
        name, options: name === 'background' ? backgroundOptions(this.config.background, request) : {},
      }));
      chain = new PluginChain(plugins);
    } catch (err) {
      log.error({ code: (err as MediaServerError).code, err: (err as Error).message }, 'stream refused: bad options on the stream key');
      info.session.socket?.destroy();
      this.countRefusal('options');
      return;
    }
    const pipeline = new StreamPipeline(info.streamPath, chain, this.pool, {
      ffmpegPath: this.ffmpegPath,
      outputRtmpUrl: `rtmp://127.0.0.1:${this.ingest.rtmpPort}/${STREAM_APP}/${outputName(info.key)}?token=${this.ingest.internalToken}`,
      hlsPlaylistPath: join(this.hlsDir(info.key), 'index.m3u8'),
      segmentDurationMs: this.config.hls.segmentDurationMs,
      playlistLength: this.config.hls.playlistLength,
      encoder: this.config.encoder,
      maxQueueFrames: this.config.pipeline.maxQueueFrames,
      decoderThreads: this.config.decoder.threads,
      startTimeoutMs: this.config.pipeline.startTimeoutMs,
      maxModelIntervalFrames: this.config.inference.maxModelIntervalFrames,
    }, new NmsFlvSource(this.ingest, info), log);
    const entry: Entry = { info, pipeline, chain, request, startedAt: new Date() };
    this.streams.set(info.key, entry);
    pipeline.once('ended', (error) => {
      if (this.streams.get(info.key) === entry) this.streams.delete(info.key);
      if (error) info.session.socket?.destroy();
      log.info({ frames: pipeline.stats.out.total, dropped: pipeline.stats.dropped }, error ? 'stream ended with an error' : 'stream ended');
      this.scheduleCleanup(info.key);
      this.emit('streamEnded', info.key, error);
    });
    await pipeline.start();
    // The publish token is a shared secret: never written to the logs.
    const { token, ...query } = info.query;
    log.info({ query: token === undefined ? query : { ...query, token: '[redacted]' } }, 'stream started');
    this.emit('streamStarted', info.key);
  }

  private async onUnpublish(info: PublishInfo): Promise<void> {
    const e = this.streams.get(info.key);
    if (!e || e.info !== info) return;
    await e.pipeline.stop();
  }

  /** A finished stream's HLS folder is kept `hls.retentionMs` for late players, then removed. */
  private scheduleCleanup(key: string): void {
    const timer = setTimeout(() => {
      this.cleanupTimers.delete(key);
      if (this.streams.has(key)) return;
      rm(this.hlsDir(key), { recursive: true, force: true }).catch((err) => this.log.warn({ err: err.message }, 'HLS cleanup failed'));
    }, this.config.hls.retentionMs);
    timer.unref();
    this.cleanupTimers.set(key, timer);
  }

  /** The background options as users set them: the image by name, never a server path. */
  private publicBackground(e: Entry): Record<string, unknown> {
    const { imagePath: _path, ...options } = (e.chain.options('background') ?? {}) as Record<string, unknown>;
    return options.mode === 'image' ? { ...options, image: e.request.image ?? this.config.background.image } : options;
  }

  private describe(e: Entry): StreamInfo {
    const f = e.pipeline.format;
    return {
      key: e.info.key,
      streamPath: e.info.streamPath,
      outputPath: `/${STREAM_APP}/${outputName(e.info.key)}`,
      hlsPath: `/${STREAM_APP}/${outputName(e.info.key)}/index.m3u8`,
      state: f ? 'live' : 'starting',
      startedAt: e.startedAt.toISOString(),
      width: f?.width, height: f?.height, fps: f?.fps, hasAudio: f?.hasAudio,
      outputPtsOriginMs: e.pipeline.outputPtsOriginMs,
      background: this.publicBackground(e),
      stats: e.pipeline.stats.snapshot(),
    };
  }
}
