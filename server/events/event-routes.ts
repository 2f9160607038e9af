/**
 * The events API (read-only but for DELETE): `GET /api/events` (filters, newest first, keyset
 * pages), `GET /api/events/:id`, `GET /api/events/:id/snapshot.jpg`, `DELETE /api/events/:id`
 * (control route: admin token when set), `GET /api/events/live` (server-sent events `start`,
 * `update`, `end`) and `GET /api/streams/:key/snapshot.jpg` (the stream's current processed
 * frame). Errors are `{ error: <code>, message }`.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MediaServerError } from '../errors.ts';
import { controlGuard } from '../http/control-auth.ts';
import { EVENT_ID_PATTERN } from './event-id.ts';
import { EVENT_KINDS, END_REASONS, type EventChange, type EventRecord } from './event-record.ts';
import type { EventService } from './event-service.ts';

/** MAX_PAGE is the largest `limit` of `GET /api/events`. */
export const MAX_PAGE = 500;
/** SSE_HEARTBEAT_MS: a comment line this often keeps proxies from closing an idle live feed. */
export const SSE_HEARTBEAT_MS = 15_000;

const STATUS: Record<string, number> = {
  ERR_EVENT_NOT_FOUND: 404,
  ERR_STREAM_NOT_FOUND: 404,
  ERR_SNAPSHOT_NOT_FOUND: 404,
  ERR_EVENT_OPEN: 409,
  ERR_EVENT_STORE_UNAVAILABLE: 503,
  ERR_SNAPSHOT_TIMEOUT: 503,
};

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof MediaServerError) return reply.code(STATUS[err.code] ?? 400).send({ error: err.code, message: err.message });
  throw err;
}

const box = { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } } } as const;
/** EVENT_SCHEMA is the JSON shape of an event in answers (see EventRecord). */
const EVENT_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' }, streamKey: { type: 'string' }, kind: { type: 'string', enum: EVENT_KINDS },
    label: { type: ['string', 'null'] }, labelScore: { type: ['number', 'null'] }, trackId: { type: 'integer' },
    startMs: { type: 'integer' }, endMs: { type: ['integer', 'null'] }, endReason: { type: ['string', 'null'], enum: [...END_REASONS, null] },
    firstPtsMs: { type: 'number' }, lastPtsMs: { type: 'number' }, lastSeenMs: { type: 'integer' }, frameCount: { type: 'integer' },
    topScore: { type: 'number' }, topPtsMs: { type: 'number' }, box, boxRelative: box,
    frameWidth: { type: 'integer' }, frameHeight: { type: 'integer' },
    snapshot: { type: ['object', 'null'], properties: { url: { type: 'string' }, bytes: { type: 'integer' } } },
  },
} as const;
const ERROR_SCHEMA = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } } as const;
const ID_PARAMS = { type: 'object', properties: { id: { type: 'string', pattern: EVENT_ID_PATTERN } }, required: ['id'], additionalProperties: false } as const;
/** A time filter: Unix epoch ms, or an ISO 8601 date-time. */
const TIME = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', format: 'date-time' }] } as const;
const LIST_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    stream: { type: 'string', maxLength: 128 },
    kind: { type: 'string', enum: EVENT_KINDS },
    label: { type: 'string', maxLength: 256 },
    after: TIME,
    before: TIME,
    minScore: { type: 'number', minimum: 0, maximum: 1 },
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
    cursor: { type: 'string', pattern: EVENT_ID_PATTERN },
  },
} as const;

interface ListQuery { stream?: string; kind?: EventRecord['kind']; label?: string; after?: number | string; before?: number | string; minScore?: number; limit: number; cursor?: string }

const toMs = (t: number | string | undefined) => (t === undefined ? undefined : typeof t === 'number' ? t : Date.parse(t));

/** publicEvent is an event as answers show it: the snapshot as a URL, not a file path. */
function publicEvent(e: EventRecord): Record<string, unknown> {
  return { ...e, snapshot: e.snapshot && { url: `/api/events/${e.id}/snapshot.jpg`, bytes: e.snapshot.bytes } };
}

/** EventRouteDeps are what the events routes read. */
export interface EventRouteDeps {
  events: EventService;
  /** `auth.adminToken` ('' = DELETE open to same-origin requests). */
  adminToken: string;
  /** `http.corsOrigin`, for the live feed (hijacked replies skip the CORS plugin). */
  corsOrigin: string;
}

/**
 * registerEventRoutes adds the events API to the app, in a scope of its own whose request
 * errors (schema validation: 400) answer `{ error: 'ERR_BAD_REQUEST', message }` like its others.
 */
export function registerEventRoutes(root: FastifyInstance, deps: EventRouteDeps): void {
  void root.register(async (app) => {
    app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, _req, reply) => {
      if (err.validation) return reply.code(400).send({ error: 'ERR_BAD_REQUEST', message: err.message });
      return reply.send(err);
    });
    routes(app as unknown as FastifyInstance, deps);
  });
}

function routes(app: FastifyInstance, { events, adminToken, corsOrigin }: EventRouteDeps): void {
  const guard = controlGuard(adminToken);
  // Live feeds are ended before the server closes (a hijacked reply would hold close() open).
  const feeds = new Set<import('node:http').ServerResponse>();
  app.addHook('preClose', async () => { for (const res of feeds) res.end(); });
  const errors = { 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA, 503: ERROR_SCHEMA };

  app.get<{ Querystring: ListQuery }>('/api/events', {
    schema: { querystring: LIST_QUERY, response: { 200: { type: 'object', properties: { events: { type: 'array', items: EVENT_SCHEMA }, nextCursor: { type: ['string', 'null'] } } }, ...errors } },
  }, async (req, reply) => {
    const q = req.query;
    try {
      const page = await events.query({
        streamKey: q.stream, kind: q.kind, label: q.label, afterMs: toMs(q.after), beforeMs: toMs(q.before),
        minScore: q.minScore, limit: q.limit, cursor: q.cursor,
      });
      return { events: page.events.map(publicEvent), nextCursor: page.nextCursor };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  // Registered before /api/events/:id, and `live` is no id (the pattern), so there is no clash.
  app.get<{ Querystring: { stream?: string; kind?: EventRecord['kind'] } }>('/api/events/live', {
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { stream: { type: 'string', maxLength: 128 }, kind: { type: 'string', enum: EVENT_KINDS } } } },
  }, (req, reply) => {
    const { stream, kind } = req.query;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      'Access-Control-Allow-Origin': corsOrigin === '*' ? '*' : (corsOrigin.split(',').includes(req.headers.origin ?? '') ? req.headers.origin! : corsOrigin.split(',')[0]!),
    });
    const send = (c: EventChange) => {
      if (stream !== undefined && c.event.streamKey !== stream) return;
      if (kind !== undefined && c.event.kind !== kind) return;
      res.write(`id: ${c.event.id}\nevent: ${c.type}\ndata: ${JSON.stringify(publicEvent(c.event))}\n\n`);
    };
    res.write(': live-matte events\n\n');
    // Events that last already, so a client that joins late knows them.
    for (const e of events.tracker.open(stream)) send({ type: 'start', event: e });
    events.on('change', send);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
    feeds.add(res);
    res.on('close', () => {
      feeds.delete(res);
      clearInterval(heartbeat);
      events.off('change', send);
    });
  });

  app.get<{ Params: { id: string } }>('/api/events/:id', {
    schema: { params: ID_PARAMS, response: { 200: EVENT_SCHEMA, ...errors } },
  }, async (req, reply) => {
    try {
      const e = await events.get(req.params.id);
      if (!e) throw new MediaServerError('ERR_EVENT_NOT_FOUND', 'http', `no event '${req.params.id}'`);
      return publicEvent(e);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get<{ Params: { id: string } }>('/api/events/:id/snapshot.jpg', { schema: { params: ID_PARAMS } }, async (req, reply) => {
    try {
      const e = await events.get(req.params.id);
      if (!e) throw new MediaServerError('ERR_EVENT_NOT_FOUND', 'http', `no event '${req.params.id}'`);
      const file = e.snapshot && events.snapshotPath(e.snapshot.path);
      const jpeg = file ? await readFile(file).catch(() => undefined) : undefined;
      if (!jpeg) throw new MediaServerError('ERR_SNAPSHOT_NOT_FOUND', 'http', `event '${req.params.id}' has no snapshot (yet)`);
      // A snapshot is replaced while its event lasts (a better moment), never after it ended.
      return reply.type('image/jpeg').header('Cache-Control', e.endMs === null ? 'no-cache' : 'public, max-age=86400').send(jpeg);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.delete<{ Params: { id: string } }>('/api/events/:id', {
    schema: { params: ID_PARAMS, response: { 200: { type: 'object', properties: { deleted: EVENT_SCHEMA } }, ...errors } },
    preHandler: guard,
  }, async (req, reply) => {
    try {
      const e = await events.delete(req.params.id);
      if (!e) throw new MediaServerError('ERR_EVENT_NOT_FOUND', 'http', `no event '${req.params.id}'`);
      return { deleted: publicEvent({ ...e, snapshot: null }) };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get<{ Params: { key: string } }>('/api/streams/:key/snapshot.jpg', {
    schema: { params: { type: 'object', properties: { key: { type: 'string', maxLength: 128 } }, required: ['key'] } },
  }, async (req, reply) => {
    try {
      const jpeg = await events.currentSnapshot(req.params.key);
      return reply.type('image/jpeg').header('Cache-Control', 'no-cache, no-store').send(Buffer.from(jpeg));
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
