/**
 * Routing in a cluster: a request about one stream (its API, its plugins, its snapshot, its WHIP
 * publish and session, a WHEP viewer of its output) that reaches a node which does not hold the
 * stream is forwarded to the holder's `httpUrl` (the registry's lease and node record, Redis) with
 * @fastify/reply-from, and the holder's answer (status, headers, body) is returned as is. A client
 * behind the cluster's HTTP balancer never needs to know which node processes a stream.
 *
 * - A stream live here, or a key nobody holds, is answered here as on a single node (so a key held
 *   by nobody stays the route's own 404).
 * - Control routes keep their guard (control-auth.ts): it runs on the entry node before any lookup,
 *   and the holder runs it again on the forwarded request, which keeps the client's `Authorization`,
 *   `Origin` and `Host`. The forwarding header is no credential: it only stops forwarding.
 * - Loop protection: a forwarded request carries `X-Livematte-Forwarded-By: <node id>`; a node
 *   answers such a request itself, never forwards it again.
 * - Refusals are JSON `{error, message}`: 503 `ERR_CLUSTER_REGISTRY_UNAVAILABLE` (Redis does not
 *   answer), 503 `ERR_CLUSTER_HOLDER_GONE` (the holder left the cluster, its lease not expired yet;
 *   `Retry-After`), 502 `ERR_CLUSTER_HOLDER_UNREACHABLE` (it did not answer; 504 on a timeout).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fastifyReplyFrom from '@fastify/reply-from';
import { isOutputName, keyOfOutput, isValidStreamKey } from '../ingest/stream-key.ts';
import type { RedisLeases } from './redis-leases.ts';

/** FORWARDED_HEADER marks a request one node forwarded to another (its value: the entry node's id). */
export const FORWARDED_HEADER = 'x-livematte-forwarded-by';

/** FORWARD_TIMEOUT_MS bounds the holder's answer (headers, then body); a WHIP answer gathers ICE for up to 3 s. */
export const FORWARD_TIMEOUT_MS = 10_000;

/** CONNECT_TIMEOUT_MS bounds the TCP connect to a holder (a machine that is gone sends no reset). */
const CONNECT_TIMEOUT_MS = 2000;

/** FORWARD_OUTCOMES are the labels forwarded calls are counted under (`livematte_cluster_forwards_total`). */
export const FORWARD_OUTCOMES = ['forwarded', 'holder_unreachable', 'holder_gone', 'registry_unavailable'] as const;
export type ForwardOutcome = typeof FORWARD_OUTCOMES[number];

/**
 * STREAM_ROUTES are the routes about one stream, by Fastify URL pattern, with where their stream
 * key is. `/whep/live/:name` takes an output name, `stream-<key>`.
 */
const STREAM_ROUTES: { url: RegExp; key: (params: Record<string, string>) => string | undefined }[] = [
  // GET a stream, GET/PATCH a plugin's options, a plugin's legacy route, the current snapshot.
  { url: /^\/api\/streams\/:key(\/.*)?$/, key: (p) => p.key },
  // Enrol a face from a stream's current frame (the gallery is shared; the frame is the holder's).
  { url: /^\/api\/people\/:id\/faces\/from-stream\/:key$/, key: (p) => p.key },
  // A WHIP publish of a key live elsewhere (the holder refuses it as in use), and a session's DELETE/PATCH.
  { url: /^\/whip\/live\/:key(\/:session)?$/, key: (p) => p.key },
  { url: /^\/whep\/live\/:name(\/:session)?$/, key: (p) => (p.name !== undefined && isOutputName(p.name) ? keyOfOutput(p.name) : undefined) },
];

/** StreamForwarderOptions are what the forwarder reads. */
export interface StreamForwarderOptions {
  leases: Pick<RedisLeases, 'locate'>;
  /** This node's id (`nodeId`). */
  nodeId: string;
  /** isLocal is true for a key with a stream (or a WHIP session) on this node: answered here without asking Redis. */
  isLocal: (key: string) => boolean;
  /** `cluster.leaseTtlMs`: the `Retry-After` of ERR_CLUSTER_HOLDER_GONE. */
  leaseTtlMs: number;
}

type Hook = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

/** StreamForwarder forwards requests about streams held by other nodes, and counts them. */
export class StreamForwarder {
  private readonly counts = new Map<ForwardOutcome, number>(FORWARD_OUTCOMES.map((o) => [o, 0]));

  constructor(private readonly options: StreamForwarderOptions) {}

  /** outcomes returns how many calls were forwarded (or could not be) since start, by outcome. */
  outcomes(): ReadonlyMap<ForwardOutcome, number> {
    return this.counts;
  }

  /**
   * register adds @fastify/reply-from and the forwarding to `app`. Call it before any route is
   * added: each stream route gets the forwarding as its last preHandler (after its guard).
   */
  async register(app: FastifyInstance): Promise<void> {
    await app.register(fastifyReplyFrom, {
      undici: { connectTimeout: CONNECT_TIMEOUT_MS, headersTimeout: FORWARD_TIMEOUT_MS, bodyTimeout: FORWARD_TIMEOUT_MS },
      disableRequestLogging: true,
    });
    app.addHook('onRoute', (route: RouteOptions) => {
      const methods = [route.method].flat();
      const rule = STREAM_ROUTES.find((r) => r.url.test(route.url));
      if (!rule || methods.includes('OPTIONS')) return;
      const own = route.preHandler === undefined ? [] : [route.preHandler].flat();
      route.preHandler = [...own, this.hook(rule.key)] as RouteOptions['preHandler'];
    });
  }

  // Callback style: once the call is forwarded, `done` is never called and the route's handler never runs.
  private hook(keyOf: (params: Record<string, string>) => string | undefined): Hook {
    return (req, reply, done) => {
      const key = keyOf(req.params as Record<string, string>);
      if (req.headers[FORWARDED_HEADER] !== undefined || key === undefined || !isValidStreamKey(key) || this.options.isLocal(key)) {
        done();
        return;
      }
      this.options.leases.locate(key).then((holder) => {
        if (!holder || holder.nodeId === this.options.nodeId) {
          done();
          return;
        }
        if (!holder.record?.httpUrl) {
          this.count('holder_gone');
          const why = holder.record ? 'advertises no HTTP URL (yet: cluster.httpUrl)' : 'has left the cluster; its lease expires within cluster.leaseTtlMs';
          void reply.code(503).header('Retry-After', String(Math.ceil(this.options.leaseTtlMs / 1000)))
            .send({ error: 'ERR_CLUSTER_HOLDER_GONE', message: `stream '${key}' is held by node ${holder.nodeId}, which ${why}` });
          return;
        }
        // reply.from throws at once for a URL it will not send (e.g. a `..` segment: its 400).
        this.forward(req, reply, key, holder.nodeId, holder.record.httpUrl);
      }, (err: Error) => {
        this.count('registry_unavailable');
        void reply.code(503).send({ error: 'ERR_CLUSTER_REGISTRY_UNAVAILABLE', message: `can not tell which node holds stream '${key}': the cluster registry (Redis) does not answer: ${err.message}` });
      }).catch((err: Error) => {
        if (!reply.sent) done(err);
      });
    };
  }

  private forward(req: FastifyRequest, reply: FastifyReply, key: string, holder: string, httpUrl: string): void {
    const target = httpUrl.replace(/\/+$/, '') + req.url;
    reply.from(target, {
      timeout: FORWARD_TIMEOUT_MS,
      // Never retried: a PATCH or a WHIP offer is not idempotent, and the holder's 503 is its answer.
      retryDelay: () => null,
      // The client's own Host, Origin and Authorization go on, so the holder's guard judges the
      // request exactly as the entry node did.
      rewriteRequestHeaders: (_req, headers) => ({
        ...headers,
        host: req.headers.host ?? headers.host,
        'x-forwarded-for': [req.headers['x-forwarded-for'], req.ip].filter(Boolean).join(', '),
        [FORWARDED_HEADER]: this.options.nodeId,
      }),
      onResponse: (_req, answered, res) => {
        this.count('forwarded');
        void answered.send(res.stream);
      },
      onError: (failed, { error }) => {
        this.count('holder_unreachable');
        const cause = (error as Error & { cause?: Error }).cause ?? error;
        const timedOut = (error as { statusCode?: number }).statusCode === 504;
        void failed.code(timedOut ? 504 : 502).send({
          error: 'ERR_CLUSTER_HOLDER_UNREACHABLE',
          message: `stream '${key}' is held by node ${holder} (${httpUrl}), which did not answer: ${cause.message || (cause as { code?: string }).code || 'no answer'}`,
        });
      },
    });
  }

  private count(outcome: ForwardOutcome): void {
    this.counts.set(outcome, this.counts.get(outcome)! + 1);
  }
}
