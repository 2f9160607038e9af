/**
 * The stream registry: starts a pipeline when a publisher of `live/<key>` is accepted, stops it
 * when the publisher leaves, and answers what is live for the API, the player and the metrics.
 */
import { resolve, join } from 'node:path';
import { rm } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import type { InferencePool } from '../inference/inference-pool.ts';
import { PluginChain } from '../pipeline/plugin-chain.ts';
import { pluginDefinition, type PluginCatalog } from '../pipeline/plugin-catalog.ts';
import { StreamPipeline } from '../pipeline/stream-pipeline.ts';
import type { DetectionsEvent } from '../pipeline/detections-event.ts';
import type { StreamStatsSnapshot } from '../pipeline/stream-stats.ts';
import type { FrameTap } from '../pipeline/pipeline-context.ts';
import { REFUSAL_REASONS, type NmsIngest, type PublishInfo } from './nms-adapter.ts';
import { NmsFlvSource } from './nms-flv-source.ts';
import type { StreamSource } from './stream-source.ts';
import { PLAYLIST_NAME, sweepHlsRoot } from './hls-sweeper.ts';
import { MediaHealth } from './media-health.ts';
import { STREAM_APP, outputName } from './stream-key.ts';

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
  /** The stream's plugin chain in order, each with its current options. */
  plugins: Record<string, Record<string, unknown>>;
  stats: StreamStatsSnapshot;
  /** What was written to the media root: segments of this stream found cut short or missing (served as gaps). */
  hls: { brokenSegments: number };
  /** Error message when the stream failed to start. */
  error?: string;
}

/**
 * Publisher is an accepted publisher of `live/<key>` of any kind (an RTMP session, a WebRTC one):
 * its stream key and query (plugin options), where its FLV comes from, and how to send it away.
 */
export interface Publisher {
  key: string;
  /** The publisher's stream path, `/live/<key>`. */
  streamPath: string;
  query: Record<string, string | undefined>;
  source: StreamSource;
  /** disconnect ends the publisher's connection (its stream failed, or was refused). */
  disconnect(): void;
  /** gone is true once the publisher's connection has closed (checked after waiting for a claim). */
  gone?(): boolean;
}

interface Entry {
  info: Publisher;
  pipeline: StreamPipeline;
  chain: PluginChain;
  startedAt: Date;
}

/**
 * PUBLISH_REFUSAL_REASONS are the reasons refused publishes are counted under: the ingest's (see
 * REFUSAL_REASONS, which WHIP publishes are refused under too) and 'options', plugin options on the
 * stream key that are not valid, and 'offer', a WHIP offer that is no SDP, has no video or only
 * codecs we do not take; 'draining', a publish that reached a cluster node while it drains.
 */
export const PUBLISH_REFUSAL_REASONS = [...REFUSAL_REASONS, 'options', 'offer', 'key_elsewhere', 'registry_unavailable', 'draining'] as const;

/**
 * StreamClaims decide whether this node may process a stream key: a cluster's leases (a key live
 * on another node is `key_elsewhere`; no answer from the registry is `registry_unavailable`).
 * Without claims every key is this node's.
 */
export interface StreamClaims {
  /** acquire claims `key`; `stillWanted` false (the publisher left) ends a wait for the claim early. */
  acquire(key: string, stillWanted?: () => boolean): Promise<{ ok: true } | { ok: false; reason: 'key_elsewhere' | 'registry_unavailable'; message: string }>;
  release(key: string): Promise<void>;
}

/** RegistryEvents let the metrics and logs follow streams. */
export interface RegistryEvents {
  streamStarted: [key: string];
  streamEnded: [key: string, error?: MediaServerError];
  /** A processed frame's detections (every processed frame of a stream whose plugins report any kind). */
  detections: [event: DetectionsEvent];
}

/** StreamRegistry owns every stream's pipeline. */
export class StreamRegistry extends EventEmitter<RegistryEvents> {
  private readonly streams = new Map<string, Entry>();
  private readonly cleanupTimers = new Map<string, NodeJS.Timeout>();
  private readonly refusals = new Map<string, number>(PUBLISH_REFUSAL_REASONS.map((reason) => [reason, 0]));
  private readonly rtmpPublishers = new WeakMap<PublishInfo, Publisher>();
  /** claims, if set, must grant a key before its stream starts here (the cluster's leases). */
  claims?: StreamClaims;
  /**
   * draining, once set (a cluster node that is stopping, see server/cluster/node-drain.ts), refuses
   * every new publish as 'draining'; the streams already here go on until they are dropped.
   */
  draining = false;
  /** frameTaps makes the frame reader of a new stream (the snapshots, server/events), if set. */
  frameTaps?: (streamKey: string) => FrameTap | undefined;
  /** The watch over the media root's free space and the live playlists' segments (start() it once serving). */
  readonly media: MediaHealth;

  constructor(
    private readonly config: ServerConfig,
    private readonly catalog: PluginCatalog,
    private readonly ingest: NmsIngest,
    private readonly pool: InferencePool,
    private readonly ffmpegPath: string,
    private readonly log: Logger,
  ) {
    super();
    this.media = new MediaHealth({
      mediaRoot: resolve(config.mediaRoot), minFreeBytes: config.hls.minFreeBytes,
      playlists: () => new Map([...this.streams.keys()].map((key) => [key, join(this.hlsDir(key), PLAYLIST_NAME)])),
    }, log.child({ component: 'media' }));
    // Each handler's promise ends in a handled error for its stream alone, never the process's.
    ingest.on('publish', (info) => {
      const publisher: Publisher = {
        key: info.key, streamPath: info.streamPath, query: info.query, source: new NmsFlvSource(ingest, info),
        disconnect: () => info.session.socket?.destroy(),
        gone: () => Boolean(info.session.socket?.destroyed),
      };
      this.rtmpPublishers.set(info, publisher);
      this.addPublisher(publisher);
    });
    ingest.on('unpublish', (info) => {
      const publisher = this.rtmpPublishers.get(info);
      if (publisher) this.removePublisher(publisher);
    });
    ingest.on('refused', (reason) => this.countRefusal(reason));
  }

  /** refusedPublishes counts refused publishes by reason (PUBLISH_REFUSAL_REASONS) since the server started. */
  refusedPublishes(): ReadonlyMap<string, number> {
    return this.refusals;
  }

  /**
   * addPublisher starts the stream of an accepted publisher (RTMP ones come from the ingest's
   * events; other kinds, e.g. WHIP, call it). A publisher whose start fails is disconnected and
   * the failure logged; nothing is thrown.
   */
  addPublisher(publisher: Publisher): void {
    this.onPublish(publisher).catch((err) => this.onPublishFailed(publisher, err as Error));
  }

  /** removePublisher ends the stream of a publisher that went away (its playlist is ended); resolves once it has ended. */
  async removePublisher(publisher: Publisher): Promise<void> {
    await this.onUnpublish(publisher).catch((err) => this.log.error({ streamPath: publisher.streamPath, err: (err as Error).message }, 'stopping the stream failed'));
  }

  /** countRefusal counts one refused publish under a reason of PUBLISH_REFUSAL_REASONS. */
  countRefusal(reason: string): void {
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
   * plugin returns a live stream's options of one plugin, or undefined when it is not in the chain.
   * @throws MediaServerError `ERR_STREAM_NOT_FOUND`, `ERR_PLUGIN_UNKNOWN`.
   */
  plugin(key: string, name: string): Record<string, unknown> | undefined {
    pluginDefinition(name);
    return this.entry(key).chain.options(name);
  }

  /**
   * updatePlugin changes a live stream's options of one plugin for its next frames (`patch` over the
   * current options); `enabled` true adds a plugin not running, false removes it. Nothing changes
   * when it throws.
   * @throws MediaServerError `ERR_STREAM_NOT_FOUND`, `ERR_PLUGIN_UNKNOWN`, `ERR_PLUGIN_NOT_RUNNING`,
   *   `ERR_PLUGIN_OPTIONS` or a plugin's own code (e.g. `ERR_BACKGROUND_IMAGE`).
   */
  updatePlugin(key: string, name: string, patch: Record<string, unknown>, enabled?: boolean): Record<string, unknown> | undefined {
    const e = this.entry(key);
    const options = e.chain.update(name, patch, enabled);
    this.prepareModels(e.chain, e.info.streamPath);
    this.log.info({ streamPath: e.info.streamPath, plugin: name, options, enabled: options !== undefined }, 'plugin options changed');
    return options;
  }

  /**
   * prepareModels has the pool open the models the chain now runs that it has not opened yet, while
   * the stream starts (or right after an options change). It does not wait: a worker that has not
   * opened one when the frame comes opens it then. A model that fails to open is logged; the
   * plugin's failure policy then covers its frames.
   */
  private prepareModels(chain: PluginChain, streamPath: string): void {
    this.pool.prepare(chain.models(), chain.workerModules()).catch((err: Error) => {
      this.log.error({ streamPath, err: err.message }, 'a model failed to open in the inference pool');
    });
  }

  private entry(key: string): Entry {
    const e = this.streams.get(key);
    if (!e) throw new MediaServerError('ERR_STREAM_NOT_FOUND', 'http', `no live stream '${key}'`);
    return e;
  }

  /** stopAll ends every stream (their playlists get EXT-X-ENDLIST) and waits for the children. */
  async stopAll(): Promise<void> {
    for (const timer of this.cleanupTimers.values()) clearTimeout(timer);
    this.cleanupTimers.clear();
    await this.media.stop();
    await Promise.all([...this.streams.values()].map((e) => e.pipeline.stop()));
  }

  /**
   * sweepLeftovers ends the playlist of every HLS folder under the media root that no live stream
   * owns (left by an earlier run: a crash, `kill -9`, a restart) and removes it after
   * `hls.retentionMs`, as a finished stream's; call it once at start-up, before publishers come.
   * Resolves with the number of folders found; a failure is logged and resolves 0 (it never
   * stops the server from starting).
   */
  async sweepLeftovers(): Promise<number> {
    try {
      const leftovers = await sweepHlsRoot(resolve(this.config.mediaRoot, STREAM_APP), (key) => this.streams.has(key) || this.cleanupTimers.has(key));
      for (const { key } of leftovers) this.scheduleCleanup(key);
      if (leftovers.length > 0) {
        this.log.info({ folders: leftovers.length, ended: leftovers.filter((l) => l.ended).map((l) => l.key), retentionMs: this.config.hls.retentionMs },
          'HLS folders of an earlier run found: playlists ended, folders removed after hls.retentionMs');
      }
      return leftovers.length;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'sweeping the HLS folders of an earlier run failed');
      return 0;
    }
  }

  private hlsDir(key: string): string {
    return resolve(join(this.config.mediaRoot, STREAM_APP, outputName(key)));
  }

  private async onPublish(info: Publisher): Promise<void> {
    const log = this.log.child({ streamPath: info.streamPath });
    const refuseDraining = () => {
      log.warn({ reason: 'draining' }, 'publish refused: this node is draining (stopping); publish to another node');
      info.disconnect();
      this.countRefusal('draining');
    };
    if (this.draining) return refuseDraining();
    // How long the claim took (a wait for a dead node's lease to run out, see RedisLeases.acquire), for the log.
    let claimMs: number | undefined;
    if (this.claims) {
      const askedAt = performance.now();
      const claim = await this.claims.acquire(info.key, () => !info.gone?.() && !this.draining);
      claimMs = Math.round(performance.now() - askedAt);
      if (this.draining) {
        if (claim.ok) this.releaseClaim(info.key);
        return refuseDraining();
      }
      if (!claim.ok) {
        log.warn({ reason: claim.reason }, `publish refused: ${claim.message}`);
        info.disconnect();
        this.countRefusal(claim.reason);
        return;
      }
      // The publisher may have gone while the registry answered.
      if (info.gone?.()) return this.releaseClaim(info.key);
    }
    const previous = this.streams.get(info.key);
    if (previous) {
      // Out of the map first: its end is then not the key's end (the claim stays).
      this.streams.delete(info.key);
      await previous.pipeline.stop();
    }
    // A publisher back within the retention time continues the old playlist (with a
    // discontinuity); a new publish starts a clean one.
    const reconnect = previous !== undefined || this.cleanupTimers.has(info.key);
    clearTimeout(this.cleanupTimers.get(info.key));
    this.cleanupTimers.delete(info.key);
    if (!reconnect) await rm(this.hlsDir(info.key), { recursive: true, force: true });
    let chain: PluginChain;
    try {
      chain = new PluginChain(this.catalog, this.catalog.selectFromQuery(info.query));
    } catch (err) {
      log.error({ code: (err as MediaServerError).code, err: (err as Error).message }, 'stream refused: bad options on the stream key');
      info.disconnect();
      this.countRefusal('options');
      this.releaseClaim(info.key);
      return;
    }
    const pipeline = new StreamPipeline(info.streamPath, chain, this.pool, {
      ffmpegPath: this.ffmpegPath,
      outputRtmpUrl: `rtmp://127.0.0.1:${this.ingest.rtmpPort}/${STREAM_APP}/${outputName(info.key)}${this.ingest.outputQuery}`,
      hlsPlaylistPath: join(this.hlsDir(info.key), PLAYLIST_NAME),
      segmentDurationMs: this.config.hls.segmentDurationMs,
      playlistLength: this.config.hls.playlistLength,
      encoder: this.config.encoder,
      maxQueueFrames: this.config.pipeline.maxQueueFrames,
      decoderThreads: this.config.decoder.threads,
      startTimeoutMs: this.config.pipeline.startTimeoutMs,
      maxModelIntervalFrames: this.config.inference.maxModelIntervalFrames,
      frameTap: this.frameTaps?.(info.key),
    }, info.source, log);
    this.prepareModels(chain, info.streamPath);
    const entry: Entry = { info, pipeline, chain, startedAt: new Date() };
    pipeline.on('detections', (d) => this.emit('detections', { streamKey: info.key, streamPath: info.streamPath, ...d }));
    this.streams.set(info.key, entry);
    pipeline.once('ended', (error) => {
      // Replaced by a reconnect of the same publisher: the new pipeline keeps the claim.
      if (this.streams.get(info.key) === entry) {
        this.streams.delete(info.key);
        this.releaseClaim(info.key);
      }
      if (error) info.disconnect();
      log.info({ frames: pipeline.stats.out.total, dropped: pipeline.stats.dropped }, error ? 'stream ended with an error' : 'stream ended');
      this.scheduleCleanup(info.key);
      this.emit('streamEnded', info.key, error);
    });
    await pipeline.start();
    // The publish token is a shared secret: never written to the logs.
    const { token, ...query } = info.query;
    log.info({ query: token === undefined ? query : { ...query, token: '[redacted]' }, claimMs }, 'stream started');
    this.emit('streamStarted', info.key);
  }

  /**
   * onPublishFailed ends a publish whose start failed (its HLS folder cannot be removed or created,
   * ...): one error line, the publisher disconnected, the half-made pipeline ended.
   */
  private async onPublishFailed(info: Publisher, err: Error): Promise<void> {
    const code = err instanceof MediaServerError ? err.code : 'ERR_STREAM_START';
    this.log.error({ streamPath: info.streamPath, code, err: err.message }, 'stream failed to start; publisher disconnected');
    info.disconnect();
    const e = this.streams.get(info.key);
    if (e?.info !== info) {
      if (!e) this.releaseClaim(info.key);
      return;
    }
    this.streams.delete(info.key);
    this.releaseClaim(info.key);
    await e.pipeline.stop().catch(() => {});
  }

  private releaseClaim(key: string): void {
    this.claims?.release(key).catch((err) => this.log.warn({ key, err: (err as Error).message }, 'releasing the stream key failed'));
  }

  /**
   * drop stops a stream this node may no longer process (its claim went to another node): the
   * publisher is disconnected, the stream ends as when it leaves.
   */
  drop(key: string, why: string): void {
    const e = this.streams.get(key);
    if (!e) return;
    this.log.warn({ streamPath: e.info.streamPath, why }, 'stream dropped: publisher disconnected');
    e.info.disconnect();
    e.pipeline.stop().catch(() => {});
  }

  private async onUnpublish(info: Publisher): Promise<void> {
    const e = this.streams.get(info.key);
    if (!e || e.info !== info) return;
    await e.pipeline.stop();
  }

  /** A finished stream's HLS folder is kept `hls.retentionMs` for late players, then removed. */
  private scheduleCleanup(key: string): void {
    const timer = setTimeout(() => {
      this.cleanupTimers.delete(key);
      if (this.streams.has(key)) return;
      this.media.forget(this.hlsDir(key));
      rm(this.hlsDir(key), { recursive: true, force: true }).catch((err) => this.log.warn({ err: err.message }, 'HLS cleanup failed'));
    }, this.config.hls.retentionMs);
    timer.unref();
    this.cleanupTimers.set(key, timer);
  }

  private describe(e: Entry): StreamInfo {
    const f = e.pipeline.format;
    const plugins = e.chain.all();
    // A plugin's older name stays a field of its own (e.g. `background`), so API clients keep working.
    const legacy = Object.fromEntries(Object.entries(plugins)
      .map(([name, options]) => [pluginDefinition(name).legacyName, options] as const)
      .filter(([legacyName]) => legacyName !== undefined));
    return {
      key: e.info.key,
      streamPath: e.info.streamPath,
      outputPath: `/${STREAM_APP}/${outputName(e.info.key)}`,
      hlsPath: `/${STREAM_APP}/${outputName(e.info.key)}/index.m3u8`,
      state: f ? 'live' : 'starting',
      startedAt: e.startedAt.toISOString(),
      width: f?.width, height: f?.height, fps: f?.fps, hasAudio: f?.hasAudio,
      outputPtsOriginMs: e.pipeline.outputPtsOriginMs,
      plugins,
      ...legacy,
      stats: e.pipeline.stats.snapshot(),
      hls: { brokenSegments: this.media.brokenSegments(e.info.key) },
    };
  }
}
