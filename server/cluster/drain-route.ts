/**
 * `POST /api/cluster/drain` (a control route: `Authorization: Bearer <auth.adminToken>` when one
 * is set, never cross-origin) drains this node as SIGTERM does (node-drain.ts) but leaves the
 * process running, idle and not ready (`/healthz` 503), for an operator or an orchestrator's
 * pre-stop hook to stop it next. It answers once the drain is over, with
 * `{ nodeId, handedOver: [stream keys], remaining, durationMs }`; a second call answers the same.
 */
import type { FastifyInstance } from 'fastify';
import { controlGuard } from '../http/control-auth.ts';
import type { DrainResult } from './node-drain.ts';

/** registerDrainRoute adds `POST /api/cluster/drain`. */
export function registerDrainRoute(app: FastifyInstance, deps: { drain: () => Promise<DrainResult>; nodeId: string; adminToken: string }): void {
  app.post('/api/cluster/drain', {
    preHandler: controlGuard(deps.adminToken),
    schema: {
      response: {
        200: {
          type: 'object',
          properties: {
            nodeId: { type: 'string' }, handedOver: { type: 'array', items: { type: 'string' } },
            remaining: { type: 'integer' }, durationMs: { type: 'integer' },
          },
        },
      },
    },
  }, async () => ({ nodeId: deps.nodeId, ...await deps.drain() }));
}
