/**
 * build(config) wires the server: models checked, inference pool, RTMP ingest, stream registry,
 * HTTP. Nothing listens until `start()`; `close()` ends streams, children and listeners.
 */
import { resolve } from 'node:path';
import { availableParallelism, hostname, loadavg } from 'node:os';
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { MediaServerError } from './errors.ts';
import { resolveFfmpegPath } from './pipeline/ffmpeg-path.ts';
import { PluginCatalog, pluginDefinition } from './pipeline/plugin-catalog.ts';
import { InferencePool } from './inference/inference-pool.ts';
import { NmsIngest } from './ingest/nms-adapter.ts';
import { StreamRegistry } from './ingest/stream-registry.ts';
import { buildHttpServer } from './http/http-server.ts';
import { createMetrics } from './http/metrics.ts';
import { mediaHealthReport } from './ingest/media-health.ts';
import { EventService, eventHealthReport } from './events/event-service.ts';
import { createEventStore } from './events/create-event-store.ts';
import { serverPeople } from './people/server-people.ts';
import { GalleryPublisher } from './people/gallery-publisher.ts';
import type { PeopleService } from './people/people-service.ts';
import { PlayPolicy } from './security/play-policy.ts';
import { RedisLeases } from './cluster/redis-leases.ts';
import { OriginRelays } from './cluster/origin-relay.ts';
import { DeadNodeSweeper } from './cluster/dead-node-sweeper.ts';
import { StreamForwarder } from './cluster/stream-forwarding.ts';
import { drainNode, type DrainResult } from './cluster/node-drain.ts';
import { outputName } from './ingest/stream-key.ts';
import { nodeIdOf } from './events/create-event-store.ts';
import { createWebrtcServer } from './webrtc/webrtc-server.ts';
import { verifyModelFile, type ModelId } from '../models/registry.ts';

/** RunningServer is a started server. */
export interface RunningServer {
  rtmpPort: number;
  httpPort: number;
  registry: StreamRegistry;
  /** The detection events, when `events.enabled`. */
  events?: EventService;
  /** The face recognition gallery, when `events.enabled` (it lives in the events database, SQLite or PostgreSQL). */
  people?: PeopleService;
  log: Logger;
  /** drain, on a cluster node, hands its streams to the other nodes and takes no new ones (server/cluster/node-drain.ts); call close() after it. */
  drain?(): Promise<DrainResult>;
  /** close disconnects publishers, ends playlists, reaps children, closes listeners. */
  close(): Promise<void>;
}

/**
 * start checks models and ffmpeg (before any port opens), then listens on RTMP and HTTP.
 * @throws MediaServerError (`ERR_MODEL_MISSING`, `ERR_MODEL_CORRUPT`, `ERR_FFMPEG_MISSING`,
 *   `ERR_PLUGIN_UNKNOWN`, ...) before anything listens.
 */
export async function start(config: ServerConfig, log: Logger = createLogger(config.log.level)): Promise<RunningServer> {
  const ffmpegPath = resolveFfmpegPath(config.ffmpegPath);
  const catalog = new PluginCatalog(config.pipeline.plugins, config.plugins);
  // Every model a stream may turn on is checked at start; only the default chain's are opened in
  // the workers now (the others when a stream first needs them: StreamRegistry prepares the pool).
  const models = new Set(catalog.models());
  // modelsDir (LIVEMATTE_MODELS_DIR) points at another folder of built models (deployments keeping models on a
  // volume, tests with a missing or corrupt model); the files must still match the registry's hashes.
  const modelsDir = config.modelsDir ? resolve(config.modelsDir) : undefined;
  for (const id of models) {
    try {
      await verifyModelFile(id as ModelId, modelsDir);
    } catch (cause) {
      const e = cause as Error & { code?: string };
      throw new MediaServerError(e.code ?? 'ERR_MODEL_MISSING', 'model', e.message, { fatal: true, cause });
    }
  }
  mkdirSync(resolve(config.mediaRoot), { recursive: true });
  mkdirSync(resolve(config.dataDir), { recursive: true });

  const pool = new InferencePool({ ...config.inference, modelsDir });
  try {
    await pool.warmUp(catalog.defaultChainModels(), catalog.names.map((name) => pluginDefinition(name).workerModule));
  } catch (cause) {
    await pool.close();
    throw new MediaServerError('ERR_MODEL_LOAD', 'model', `a model failed to load in the inference pool: ${(cause as Error).message}`, { fatal: true, cause });
  }
  const plays = new PlayPolicy({ rawPlay: config.auth.rawPlay, playSecret: config.auth.playSecret });
  const ingest = new NmsIngest({
    bind: config.bind, rtmpPort: config.rtmp.port, dataDir: resolve(config.dataDir), publishSecret: config.auth.publishSecret,
    maxPublishers: config.pipeline.maxStreams, idlePublisherTimeoutMs: config.rtmp.idlePublisherTimeoutMs, plays,
  }, log);
  const registry = new StreamRegistry(config, catalog, ingest, pool, ffmpegPath, log);
  const nodeId = nodeIdOf(config);
  const startedAt = new Date().toISOString();
  // Where other nodes reach this one: configured, else this host at the bound HTTP port (set once listening).
  let httpUrl = config.cluster.httpUrl;
  // A cluster node: stream keys are leased in Redis; one taken by another node stops here.
  const leases = config.cluster.enabled ? new RedisLeases({
    url: config.cluster.redisUrl, nodeId, ttlMs: config.cluster.leaseTtlMs,
    describe: () => ({
      httpUrl, startedAt, load: Math.round((loadavg()[0]! / availableParallelism()) * 100) / 100,
      streams: registry.list().map((s) => ({ key: s.key, state: s.state, fps: s.stats.fpsOut })), draining: registry.draining,
    }),
  }, log.child({ component: 'cluster' })) : undefined;
  if (leases) {
    registry.claims = leases;
    leases.on('lost', (key, holder) => registry.drop(key, `its key was taken by node ${holder}`));
  }
  let webrtc;
  try {
    webrtc = createWebrtcServer(config, registry, ingest, catalog, plays, log);
  } catch (err) {
    await pool.close();
    throw err;
  }
  // A request about a stream held by another node is answered by that node (server/cluster/stream-forwarding.ts).
  const forwarder = leases && new StreamForwarder({
    leases, nodeId, leaseTtlMs: config.cluster.leaseTtlMs,
    isLocal: (key) => registry.get(key) !== undefined || (webrtc?.whip.sessions.has(key) ?? false),
  });
  // Events: a sink beside the streams; a store that can not open is logged and retried, never fatal.
  // The people gallery lives in the events database (SQLite, or the cluster's PostgreSQL) and
  // relabels stored events through the event store.
  const madeStore = config.events.enabled ? createEventStore(config) : undefined;
  const eventStore = madeStore?.store;
  const events = madeStore ? new EventService(config, registry, log.child({ component: 'events' }), madeStore) : undefined;
  const people = events && eventStore ? serverPeople(config, events, eventStore, log.child({ component: 'people' })) : undefined;
  // A cluster sharing one event store: the open events of nodes that died are closed by the survivors.
  const sweeper = leases && events && config.events.store === 'postgres'
    ? new DeadNodeSweeper({ nodeId, intervalMs: config.cluster.leaseTtlMs }, leases, events, log.child({ component: 'cluster' })) : undefined;
  let http: FastifyInstance | undefined;
  let stopRelays = async (): Promise<void> => {};
  let drained: Promise<DrainResult> | undefined;
  const drain = leases && (() => drained ??= drainNode({
    registry, ingest, leases, stopRelays: () => stopRelays(), timeoutMs: config.cluster.drainTimeoutMs, log: log.child({ component: 'cluster' }),
  }));
  try {
    await events?.start();
    await people?.start();
    // Matching reads the gallery from the plugins' shared data, kept current by this publisher.
    const gallery = people && new GalleryPublisher(people, catalog.shared, log.child({ component: 'people' }));
    await gallery?.start();
    await leases?.start();
    sweeper?.start();
    await registry.sweepLeftovers();
    const rtmpPort = await ingest.listen();
    http = await buildHttpServer({ config, registry, catalog, log, events, people, plays, metrics: createMetrics(registry, events, plays, people, forwarder), routes: webrtc?.routes, health: () => mergeHealth({ rtmpPort, workers: pool.threads }, mediaHealthReport(registry.media.snapshot()), events ? eventHealthReport(events.health()) : {}), cluster: leases && forwarder && drain && { leases, nodeId, forwarder, drain } });
    await http.listen({ port: config.http.port, host: config.bind });
    registry.media.start();
    const httpPort = (http.server.address() as { port: number }).port;
    // The origin: every output copied there while its stream is live here.
    const relays = config.cluster.originRtmpUrl ? new OriginRelays({
      ffmpegPath, originBase: config.cluster.originRtmpUrl,
      tap: (key, onBytes) => ingest.tap(`/live/${outputName(key)}`, onBytes),
      outputReady: (key) => ingest.hasVideoHeader(`/live/${outputName(key)}`),
      hasAudio: (key) => registry.get(key)?.hasAudio,
    }, log.child({ component: 'origin' })) : undefined;
    if (relays) {
      // Started once our encoder publishes the output (a player waiting before that gets nothing).
      ingest.on('outputPublished', (key) => { if (registry.get(key)) relays.start(key); });
      registry.on('streamEnded', (key) => { void relays.stop(key); });
    }
    stopRelays = async () => { await relays?.stopAll(); };
    httpUrl ||= `http://${config.bind === '0.0.0.0' || config.bind === '::' ? hostname() : config.bind}:${httpPort}`;
    // The node's record carries its URL from now on, not a third of the TTL later (calls routed here need it).
    await leases?.refresh();
    log.info({ rtmpPort, httpPort, ffmpegPath, workers: pool.threads }, 'server listening');
    let closing: Promise<void> | undefined;
    return {
      rtmpPort, httpPort, registry, events, people, log, drain,
      close: () => {
        closing ??= (async () => {
          await webrtc?.close();
          await registry.stopAll();
          await stopRelays();
          await sweeper?.stop();
          await leases?.close();
          await events?.close();
          gallery?.stop();
          await people?.close();
          await ingest.close();
          await http?.close();
          await pool.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await webrtc?.close().catch(() => {});
    await sweeper?.stop();
    await leases?.close().catch(() => {});
    await events?.close().catch(() => {});
    await people?.close().catch(() => {});
    await ingest.close().catch(() => {});
    await http?.close().catch(() => {});
    await pool.close().catch(() => {});
    throw err;
  }
}

/** mergeHealth joins `/healthz` parts: their fields, `status: 'degraded'` if one is, and every part's `problems`. */
function mergeHealth(...parts: Record<string, unknown>[]): Record<string, unknown> {
  const problems = parts.flatMap((p) => (p.problems as string[] | undefined) ?? []);
  const merged: Record<string, unknown> = Object.assign({}, ...parts);
  delete merged.status;
  delete merged.problems;
  return problems.length ? { status: 'degraded', problems, ...merged } : merged;
}
