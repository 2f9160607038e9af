/**
 * The cluster view: `GET /api/cluster` lists every live node (its id, HTTP URL, streams, load)
 * from the registry, as this node sees it. 503 `ERR_CLUSTER_REGISTRY_UNAVAILABLE` while Redis
 * does not answer.
 */
import type { FastifyInstance } from 'fastify';
import type { RedisLeases } from './redis-leases.ts';

const NODE_SCHEMA = {
  type: 'object',
  properties: {
    nodeId: { type: 'string' }, httpUrl: { type: 'string' }, startedAt: { type: 'string' }, load: { type: 'number' }, draining: { type: 'boolean' },
    streams: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, state: { type: 'string' }, fps: { type: 'number' } } } },
  },
} as const;
const ERROR_SCHEMA = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } } as const;

/** registerClusterRoutes adds `GET /api/cluster`. */
export function registerClusterRoutes(app: FastifyInstance, deps: { leases: RedisLeases; nodeId: string }): void {
  app.get('/api/cluster', {
    schema: {
      response: {
        200: { type: 'object', properties: { nodeId: { type: 'string' }, nodes: { type: 'array', items: NODE_SCHEMA }, streams: { type: 'integer' } } },
        503: ERROR_SCHEMA,
      },
    },
  }, async (_req, reply) => {
    try {
      const nodes = await deps.leases.nodes();
      return { nodeId: deps.nodeId, nodes, streams: nodes.reduce((n, node) => n + node.streams.length, 0) };
    } catch (err) {
      return reply.code(503).send({ error: 'ERR_CLUSTER_REGISTRY_UNAVAILABLE', message: `the cluster registry (Redis) does not answer: ${(err as Error).message}` });
    }
  });
}
