/**
 * The WHEP routes: `POST /whep/live/:name` (an SDP offer, receive-only; 201 with the answer and the
 * session's `Location`), `DELETE /whep/live/:name/:session`, and `PATCH` answered 405 (no trickle),
 * with CORS for the origins `http.corsOrigin` allows (webrtc-cors.ts).
 */
import type { FastifyInstance } from 'fastify';
import { bearerToken, registerSdpParser, sendError } from './whip-routes.ts';
import type { WhepEgress } from './whep-egress.ts';
import { CORS_ROUTE, registerCorsPreflight } from './webrtc-cors.ts';

const STATUS: Record<string, number> = {
  ERR_PLAY_REFUSED: 403,
  ERR_STREAM_NOT_FOUND: 404,
  ERR_SESSION_NOT_FOUND: 404,
};
const PARAMS = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 256 }, session: { type: 'string', maxLength: 64 } },
  required: ['name'],
} as const;
const QUERY = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** registerWhepRoutes adds the WHEP endpoint to the app (call it on the scope of the WHIP routes). */
export function registerWhepRoutes(app: FastifyInstance, whep: WhepEgress): void {
  registerSdpParser(app);
  registerCorsPreflight(app, '/whep/live/:name');
  registerCorsPreflight(app, '/whep/live/:name/:session');
  app.post<{ Params: { name: string }; Querystring: Record<string, string> }>('/whep/live/:name', { ...CORS_ROUTE, schema: { params: PARAMS, querystring: QUERY } }, async (req, reply) => {
    if (typeof req.body !== 'string' || !/^application\/sdp\b/i.test(req.headers['content-type'] ?? '')) {
      return reply.code(415).send({ error: 'ERR_WHEP_CONTENT_TYPE', message: 'a WHEP offer is sent as Content-Type: application/sdp' });
    }
    try {
      const { sessionId, sdp } = await whep.play({ name: req.params.name, query: req.query, bearer: bearerToken(req.headers.authorization), offer: req.body });
      return reply.code(201).type('application/sdp')
        .header('Location', `/whep/live/${encodeURIComponent(req.params.name)}/${sessionId}`)
        .send(sdp);
    } catch (err) {
      return sendError(reply, err, STATUS);
    }
  });
  app.delete<{ Params: { name: string; session: string } }>('/whep/live/:name/:session', { ...CORS_ROUTE, schema: { params: PARAMS } }, async (req, reply) => {
    try {
      await whep.end(req.params.name, req.params.session);
      return reply.code(200).send({ ended: true });
    } catch (err) {
      return sendError(reply, err, STATUS);
    }
  });
  app.patch<{ Params: { name: string; session: string } }>('/whep/live/:name/:session', { ...CORS_ROUTE, schema: { params: PARAMS } }, async (req, reply) => {
    if (!whep.hasSession(req.params.name, req.params.session)) {
      return reply.code(404).send({ error: 'ERR_SESSION_NOT_FOUND', message: `no WHEP session '${req.params.session}' for '${req.params.name}'` });
    }
    return reply.code(405).header('Allow', 'DELETE').send({ error: 'ERR_TRICKLE_UNSUPPORTED', message: 'this server gathers its ICE candidates before answering: no trickle ICE or ICE restart' });
  });
}
