/**
 * The cluster's streams in full: `GET /api/cluster/streams` is every live node's `GET /api/streams`
 * (this node's from its registry, the others' fetched from their `httpUrl` with the forwarding
 * header), each stream with the `nodeId` that processes it. The player lists streams from it, so a
 * viewer behind the cluster's HTTP balancer sees every stream whichever node answers.
 *
 * One fan-out at a time per node, its result kept CACHE_MS: many players polling cost each other
 * node one request per CACHE_MS. A node that does not answer within NODE_TIMEOUT_MS is listed in
 * `unreachable` and its streams are left out.
 */
import type { FastifyInstance } from 'fastify';
import type { StreamInfo } from '../ingest/stream-registry.ts';
import type { NodeRecord, RedisLeases } from './redis-leases.ts';
import { FORWARDED_HEADER } from './stream-forwarding.ts';

/** NODE_TIMEOUT_MS bounds one node's answer. */
const NODE_TIMEOUT_MS = 2000;
/** CACHE_MS is how long one fan-out's answer is reused. */
const CACHE_MS = 1000;

/** ClusterStreams is the answer: the streams (each with its node) and the nodes that did not answer. */
export interface ClusterStreams {
  streams: (StreamInfo & { nodeId: string })[];
  unreachable: { nodeId: string; message: string }[];
}

/** ClusterStreamsDeps are what the route reads. */
export interface ClusterStreamsDeps {
  leases: Pick<RedisLeases, 'nodes'>;
  nodeId: string;
  /** This node's live streams (the registry). */
  local: () => StreamInfo[];
}

async function remoteStreams(node: NodeRecord, self: string): Promise<StreamInfo[]> {
  if (!node.httpUrl) throw new Error('it advertises no HTTP URL (yet)');
  const res = await fetch(`${node.httpUrl.replace(/\/+$/, '')}/api/streams`, {
    headers: { [FORWARDED_HEADER]: self }, signal: AbortSignal.timeout(NODE_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = await res.json() as { streams?: StreamInfo[] };
  return body.streams ?? [];
}

/** registerClusterStreamsRoute adds `GET /api/cluster/streams` (503 `ERR_CLUSTER_REGISTRY_UNAVAILABLE` while Redis does not answer). */
export function registerClusterStreamsRoute(app: FastifyInstance, deps: ClusterStreamsDeps): void {
  let cached: { at: number; answer: Promise<ClusterStreams> } | undefined;
  const collect = async (): Promise<ClusterStreams> => {
    const nodes = await deps.leases.nodes();
    const answer: ClusterStreams = { streams: deps.local().map((s) => ({ ...s, nodeId: deps.nodeId })), unreachable: [] };
    await Promise.all(nodes.filter((n) => n.nodeId !== deps.nodeId).map(async (node) => {
      try {
        // A stream the node has just handed over may show on both for a moment: the holder's lease decides later calls.
        answer.streams.push(...(await remoteStreams(node, deps.nodeId)).map((s) => ({ ...s, nodeId: node.nodeId })));
      } catch (err) {
        answer.unreachable.push({ nodeId: node.nodeId, message: `node ${node.nodeId} (${node.httpUrl || 'no URL'}) did not list its streams: ${(err as Error).message}` });
      }
    }));
    answer.streams.sort((x, y) => x.key.localeCompare(y.key));
    return answer;
  };
  app.get('/api/cluster/streams', async (_req, reply) => {
    if (!cached || Date.now() - cached.at > CACHE_MS) {
      const answer = collect();
      cached = { at: Date.now(), answer };
      answer.catch(() => { if (cached?.answer === answer) cached = undefined; });
    }
    try {
      return await cached.answer;
    } catch (err) {
      return reply.code(503).send({ error: 'ERR_CLUSTER_REGISTRY_UNAVAILABLE', message: `the cluster registry (Redis) does not answer: ${(err as Error).message}` });
    }
  });
}
