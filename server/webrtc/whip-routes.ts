/**
 * The WHIP routes (RFC 9725): `POST /whip/live/:key` (an SDP offer; 201 with the answer and the
 * session's `Location`), `DELETE /whip/live/:key/:session` (ends it), and `PATCH` on it, which is
 * answered 405: candidates are gathered before the answer (no trickle ICE, no ICE restart). Pages of
 * the origins `http.corsOrigin` allows may call them all (webrtc-cors.ts).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MediaServerError } from '../errors.ts';
import { MAX_OFFER_BYTES } from './offer-check.ts';
import type { WhipIngest } from './whip-ingest.ts';
import { CORS_ROUTE, registerCorsPreflight } from './webrtc-cors.ts';

/** STATUS maps a WHIP refusal's code to its HTTP status (anything else: 400). */
const STATUS: Record<string, number> = {
  ERR_UNAUTHORISED: 401,
  ERR_OUTPUT_NAME: 403,
  ERR_SESSION_NOT_FOUND: 404,
  ERR_KEY_IN_USE: 409,
  ERR_SERVER_FULL: 503,
  ERR_DRAINING: 503,
};

/** sendError answers a MediaServerError as `{ error, message }`; anything else is a 500 (Fastify's). */
export function sendError(reply: FastifyReply, err: unknown, status: Record<string, number> = STATUS): FastifyReply {
  if (!(err instanceof MediaServerError)) throw err;
  const code = status[err.code] ?? 400;
  if (code === 401) reply.header('WWW-Authenticate', 'Bearer');
  return reply.code(code).send({ error: err.code, message: err.message });
}

/** bearerToken reads `Authorization: Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

const PARAMS = {
  type: 'object',
  properties: { key: { type: 'string', maxLength: 256 }, session: { type: 'string', maxLength: 64 } },
  required: ['key'],
} as const;
const QUERY = { type: 'object', additionalProperties: { type: 'string' } } as const;

/**
 * registerSdpParser lets the app's routes take `application/sdp` bodies as text (up to
 * MAX_OFFER_BYTES), and any other type too, so that a route answers it with its own 415. Call it
 * on a scope of the routes that take SDP only.
 */
export function registerSdpParser(app: FastifyInstance): void {
  if (app.hasContentTypeParser('application/sdp')) return;
  const asText = (_req: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => done(null, body);
  app.addContentTypeParser('application/sdp', { parseAs: 'string', bodyLimit: MAX_OFFER_BYTES }, asText);
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_OFFER_BYTES }, asText);
}

/** registerWhipRoutes adds the WHIP endpoint to the app. */
export function registerWhipRoutes(app: FastifyInstance, whip: WhipIngest): void {
  registerSdpParser(app);
  registerCorsPreflight(app, '/whip/live/:key');
  registerCorsPreflight(app, '/whip/live/:key/:session');
  app.post<{ Params: { key: string }; Querystring: Record<string, string> }>('/whip/live/:key', { ...CORS_ROUTE, schema: { params: PARAMS, querystring: QUERY } }, async (req, reply) => {
    if (typeof req.body !== 'string' || !/^application\/sdp\b/i.test(req.headers['content-type'] ?? '')) {
      return reply.code(415).send({ error: 'ERR_WHIP_CONTENT_TYPE', message: 'a WHIP offer is sent as Content-Type: application/sdp' });
    }
    try {
      const { sessionId, sdp } = await whip.publish({ key: req.params.key, query: req.query, bearer: bearerToken(req.headers.authorization), offer: req.body });
      return reply.code(201).type('application/sdp')
        .header('Location', `/whip/live/${encodeURIComponent(req.params.key)}/${sessionId}`)
        .send(sdp);
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.delete<{ Params: { key: string; session: string } }>('/whip/live/:key/:session', { ...CORS_ROUTE, schema: { params: PARAMS } }, async (req, reply) => {
    try {
      await whip.end(req.params.key, req.params.session);
      return reply.code(200).send({ ended: true });
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.patch<{ Params: { key: string; session: string } }>('/whip/live/:key/:session', { ...CORS_ROUTE, schema: { params: PARAMS } }, async (req, reply) => {
    if (!whip.hasSession(req.params.key, req.params.session)) {
      return reply.code(404).send({ error: 'ERR_SESSION_NOT_FOUND', message: `no WHIP session '${req.params.session}' for '${req.params.key}'` });
    }
    return reply.code(405).header('Allow', 'DELETE').send({ error: 'ERR_TRICKLE_UNSUPPORTED', message: 'this server gathers its ICE candidates before answering: no trickle ICE or ICE restart' });
  });
}
