/**
 * Who may change a stream: control routes (plugin options, deletions) answer only requests that
 * carry the admin token when one is set (`auth.adminToken`), and never a cross-origin browser
 * request, so a web page a viewer opens cannot change a stream. Read-only routes and HLS stay open
 * (CORS `*` by default).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** tokenMatches compares a given token with the secret in constant time, whatever their lengths. */
export function tokenMatches(given: string | undefined, secret: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(secret));
}

/** isCrossOrigin is true for a browser request whose Origin is not the host it was sent to. */
function isCrossOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/**
 * controlGuard returns a Fastify preHandler for control routes: 403 `ERR_CROSS_ORIGIN` for a
 * cross-origin browser request, 401 `ERR_UNAUTHORISED` without `Authorization: Bearer <adminToken>`
 * when an admin token is set.
 */
export function controlGuard(adminToken: string) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (isCrossOrigin(req)) {
      await reply.code(403).send({ error: 'ERR_CROSS_ORIGIN', message: 'control routes do not answer cross-origin requests' });
      return;
    }
    if (!adminToken) return;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!tokenMatches(given, adminToken)) {
      await reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: 'ERR_UNAUTHORISED', message: 'this route needs Authorization: Bearer <auth.adminToken>' });
    }
  };
}
