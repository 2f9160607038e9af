/**
 * The stream API: `GET /api/streams`, `GET /api/streams/:key`, and
 * `POST /api/streams/:key/background` to change a live stream's background.
 */
import type { FastifyInstance } from 'fastify';
import { MediaServerError } from '../errors.ts';
import type { StreamRegistry } from '../ingest/stream-registry.ts';
import type { BackgroundRequest } from '../ingest/stream-options.ts';

const STATUS: Record<string, number> = {
  ERR_STREAM_NOT_FOUND: 404,
  ERR_PLUGIN_OPTIONS: 400,
  ERR_BACKGROUND_IMAGE: 400,
};

/** registerStreamRoutes adds the stream API to the app. */
export function registerStreamRoutes(app: FastifyInstance, registry: StreamRegistry): void {
  app.get('/api/streams', async () => ({ streams: registry.list() }));

  app.get<{ Params: { key: string } }>('/api/streams/:key', async (req, reply) => {
    const stream = registry.get(req.params.key);
    if (!stream) return reply.code(404).send({ error: 'ERR_STREAM_NOT_FOUND', message: `no live stream '${req.params.key}'` });
    return stream;
  });

  app.post<{ Params: { key: string }; Body: BackgroundRequest }>('/api/streams/:key/background', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          mode: { type: 'string' }, color: { type: 'string' }, image: { type: 'string' },
          blurRadiusPx: { type: 'number' }, threshold: { type: 'number' }, edgeSoftness: { type: 'number' },
          smoothing: { type: 'number' }, model: { type: 'string' },
        },
      },
    },
  }, async (req, reply) => {
    try {
      return { background: registry.setBackground(req.params.key, req.body ?? {}) };
    } catch (err) {
      if (err instanceof MediaServerError) {
        return reply.code(STATUS[err.code] ?? 400).send({ error: err.code, message: err.message });
      }
      throw err;
    }
  });
}
