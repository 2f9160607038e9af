/**
 * CORS for the WHIP and WHEP endpoints: a page of another origin (one `http.corsOrigin` allows)
 * may POST an offer, PATCH and DELETE its session, and read the answer's `Location`. The origins
 * are the app's CORS plugin's (http-server.ts); only the methods, headers and exposed headers
 * differ from its read-only default, per route. These routes need no cookie, only a bearer token
 * (RFC 9725 section 4.3), so credentials stay off.
 */
import type { FastifyInstance } from 'fastify';
import type { FastifyCorsOptions } from '@fastify/cors';

// @fastify/cors reads a route's `config.cors` (merged over its global options) but its types do not declare it.
declare module 'fastify' {
  interface FastifyContextConfig { cors?: FastifyCorsOptions | false }
}

/**
 * WEBRTC_CORS is the @fastify/cors route config of the WHIP/WHEP routes: methods POST, PATCH,
 * DELETE (and the OPTIONS preflight), request headers Content-Type, Authorization and If-Match
 * (RFC 9725's PATCH), `Location` exposed (no ETag or Link is sent), preflights cached 600 s.
 */
export const WEBRTC_CORS: FastifyCorsOptions = {
  methods: ['POST', 'PATCH', 'DELETE', 'OPTIONS'],
  allowedHeaders: ['Content-Type', 'Authorization', 'If-Match'],
  exposedHeaders: ['Location'],
  maxAge: 600,
};

/** CORS_ROUTE is the route options that give a route WEBRTC_CORS. */
export const CORS_ROUTE = { config: { cors: WEBRTC_CORS } };

/**
 * registerCorsPreflight adds `OPTIONS <path>` with WEBRTC_CORS: the CORS plugin's hook answers a
 * preflight (204) before the handler runs; an OPTIONS that is not a preflight (no Origin or no
 * Access-Control-Request-Method) is the plugin's 400. Without it the plugin's catch-all
 * `OPTIONS *` would answer with the read-only methods.
 */
export function registerCorsPreflight(app: FastifyInstance, path: string): void {
  app.options(path, CORS_ROUTE, async (_req, reply) => reply.code(204).send());
}
