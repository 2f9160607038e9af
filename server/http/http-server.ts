/**
 * The HTTP side (Fastify): the player page, the stream API, HLS playlists and segments with CORS
 * (hls-routes.ts), health and metrics.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { StreamRegistry } from '../ingest/stream-registry.ts';
import { registerStreamRoutes } from './stream-routes.ts';
import { registerHlsRoutes } from './hls-routes.ts';
import type { PlayPolicy } from '../security/play-policy.ts';
import { PROJECT_ROOT } from '../project-root.ts';
import type { PluginCatalog } from '../pipeline/plugin-catalog.ts';
import type { EventService } from '../events/event-service.ts';
import { registerEventRoutes } from '../events/event-routes.ts';
import type { RedisLeases } from '../cluster/redis-leases.ts';
import { registerClusterRoutes } from '../cluster/cluster-routes.ts';
import type { StreamForwarder } from '../cluster/stream-forwarding.ts';
import { registerClusterStreamsRoute } from '../cluster/cluster-streams.ts';
import { registerDrainRoute } from '../cluster/drain-route.ts';
import type { DrainResult } from '../cluster/node-drain.ts';
import type { PeopleService } from '../people/people-service.ts';
import { registerPeopleRoutes } from '../people/people-routes.ts';

const PLAYER_DIR = join(PROJECT_ROOT, 'player');
const HLS_JS_DIR = dirname(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));

/** HttpDeps are what the HTTP routes read. */
export interface HttpDeps {
  config: ServerConfig;
  registry: StreamRegistry;
  catalog: PluginCatalog;
  log: Logger;
  /** Prometheus text exposition, or undefined when metrics are off. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Extra facts for /healthz. */
  health: () => Record<string, unknown>;
  /** The events (the /api/events routes), when `events.enabled`. */
  events?: EventService;
  /** The face recognition gallery (the /api/people routes), when `events.enabled` (same database). */
  people?: PeopleService;
  /** Who may fetch HLS (auth.playSecret). */
  plays: PlayPolicy;
  /**
   * The cluster's leases and this node's id (`GET /api/cluster`), the forwarding of stream
   * requests to the node that holds the stream, and this node's drain (`POST /api/cluster/drain`),
   * when `cluster.enabled`.
   */
  cluster?: { leases: RedisLeases; nodeId: string; forwarder: StreamForwarder; drain: () => Promise<DrainResult> };
  /** More routes to add (the WebRTC ones, when `webrtc.enabled`). */
  routes?: (app: FastifyInstance) => Promise<void>;
}

/** ValidationIssue is the part of an ajv error the messages below read. */
interface ValidationIssue { keyword: string; instancePath: string; message?: string; params: Record<string, unknown> }

/**
 * validationError words a request's schema errors: an unknown field is named (`body has an
 * unknown field 'colour'`), anything else as ajv says it (`body/mode must be string`).
 */
function validationError(errors: ValidationIssue[], dataVar: string): Error {
  const text = errors.map((e) => e.keyword === 'additionalProperties'
    ? `${dataVar}${e.instancePath} has an unknown field '${String(e.params.additionalProperty)}'`
    : `${dataVar}${e.instancePath} ${e.message ?? 'is not valid'}`).join('; ');
  return new Error(text);
}

/** buildHttpServer makes the Fastify app (not listening yet). */
export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const { config } = deps;
  // Fastify's per-request lines stay off below warn; a quieter configured level (error, silent) wins.
  const httpLevel = deps.log.levelVal > deps.log.levels.values.warn ? deps.log.level : 'warn';
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }, { level: httpLevel }) as unknown as FastifyBaseLogger,
    // Fastify's ajv removes fields a schema does not list by default; refuse them instead (400).
    ajv: { customOptions: { removeAdditional: false } },
    schemaErrorFormatter: (errors, dataVar) => validationError(errors as ValidationIssue[], dataVar),
  }) as unknown as FastifyInstance;
  // CORS for reading only (HLS, the stream list, events): a page of another origin may watch, never
  // change a stream (control routes also refuse cross-origin requests outright, control-auth.ts).
  // The WHIP/WHEP routes widen the methods for themselves (server/webrtc/webrtc-cors.ts).
  await app.register(fastifyCors, { origin: config.http.corsOrigin === '*' ? '*' : config.http.corsOrigin.split(','), methods: ['GET', 'HEAD'] });

  // A burst of API requests is answered 429 before any route runs, so it can not hold the event
  // loop the frame path shares (issue #19 item 9). Per client address, in this process's memory.
  if (config.http.rateLimitPerSecond > 0) {
    await app.register(fastifyRateLimit, {
      max: config.http.rateLimitPerSecond,
      timeWindow: 1000,
      allowList: (req) => !req.url.startsWith('/api/'),
    });
  }

  // Before any route: each stream route gets the forwarding after its own preHandlers (its guard).
  if (deps.cluster) await deps.cluster.forwarder.register(app);
  await deps.routes?.(app);
  await registerHlsRoutes(app, { mediaRoot: config.mediaRoot, plays: deps.plays, playlists: deps.registry.media.playlists, log: deps.log.child({ component: 'http' }) });
  await app.register(fastifyStatic, { root: HLS_JS_DIR, prefix: '/vendor/hls.js/', decorateReply: false });
  await app.register(fastifyStatic, { root: PLAYER_DIR, prefix: '/', decorateReply: false, index: ['index.html'] });

  // A draining node is not ready: 503, so that a load balancer's or an orchestrator's check takes it out.
  app.get('/healthz', async (_req, reply) => {
    const body = { status: 'ok', streams: deps.registry.size, ...deps.health() };
    return deps.registry.draining ? reply.code(503).send({ ...body, status: 'draining' }) : body;
  });
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics();
      return reply.type(contentType).send(body);
    });
  }
  registerStreamRoutes(app, { registry: deps.registry, catalog: deps.catalog, adminToken: config.auth.adminToken });
  if (deps.cluster) {
    registerClusterRoutes(app, deps.cluster);
    registerClusterStreamsRoute(app, { ...deps.cluster, local: () => deps.registry.list() });
    registerDrainRoute(app, { drain: deps.cluster.drain, nodeId: deps.cluster.nodeId, adminToken: config.auth.adminToken });
  }
  if (deps.events) registerEventRoutes(app, { events: deps.events, adminToken: config.auth.adminToken, corsOrigin: config.http.corsOrigin });
  if (deps.people) registerPeopleRoutes(app, { people: deps.people, adminToken: config.auth.adminToken });
  return app;
}
