/**
 * The people API (the recognition gallery). Every route needs the admin token when one is set, and
 * none answers a cross-origin browser request (names and reference faces are biometric data, not
 * for any page a viewer opens): `GET /api/people`, `GET /api/people/:id`,
 * `GET /api/people/:id/faces/:faceId.jpg` (the aligned reference face), `POST /api/people {name}`,
 * `PATCH /api/people/:id {name}`, `DELETE /api/people/:id`, `POST /api/people/:id/faces` (a raw
 * image/jpeg or image/png body of at most MAX_IMAGE_BYTES), `POST /api/people/:id/faces/from-stream/:key`,
 * `DELETE /api/people/:id/faces/:faceId`. Errors are `{ error: <code>, message }`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MediaServerError } from '../errors.ts';
import { controlGuard } from '../http/control-auth.ts';
import type { PeopleService } from './people-service.ts';
import type { FaceSummary, Person } from './people-store.ts';

/** MAX_IMAGE_BYTES is the largest upload of `POST /api/people/:id/faces` (10 MiB; more: 413). */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

const STATUS: Record<string, number> = {
  ERR_PERSON_NAME: 400,
  ERR_IMAGE_EMPTY: 400,
  ERR_IMAGE_UNREADABLE: 400,
  ERR_PERSON_NOT_FOUND: 404,
  ERR_FACE_NOT_FOUND: 404,
  ERR_STREAM_NOT_FOUND: 404,
  ERR_PERSON_EXISTS: 409,
  ERR_IMAGE_TOO_LARGE: 413,
  ERR_IMAGE_FORMAT: 415,
  ERR_FACE_COUNT: 422,
  ERR_FACE_TOO_SMALL: 422,
  ERR_ENROL_FAILED: 500,
  ERR_PEOPLE_STORE_UNAVAILABLE: 503,
  ERR_EVENT_STORE_UNAVAILABLE: 503,
  ERR_ENROL_BUSY: 503,
  ERR_SNAPSHOT_TIMEOUT: 503,
};

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof MediaServerError) return reply.code(STATUS[err.code] ?? 400).send({ error: err.code, message: err.message });
  throw err;
}

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const ERROR_SCHEMA = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } } as const;
const FACE_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'string' }, source: { type: 'string' }, score: { type: 'number' }, createdMs: { type: 'integer' }, imageUrl: { type: 'string' } },
} as const;
const PERSON_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, createdMs: { type: 'integer' }, faceCount: { type: 'integer' }, faces: { type: 'array', items: FACE_SCHEMA } },
} as const;
const FOUND_SCHEMA = {
  type: 'object',
  properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' }, score: { type: 'number' } },
} as const;
// The name's length is checked after trimming (personName, at most 100 characters), so that a long one gets its own message.
const NAME_BODY = { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' } } } as const;
const PERSON_PARAMS = { type: 'object', properties: { id: { type: 'string', pattern: UUID } }, required: ['id'], additionalProperties: false } as const;
const FACE_PARAMS = {
  type: 'object', properties: { id: { type: 'string', pattern: UUID }, faceId: { type: 'string', pattern: UUID } }, required: ['id', 'faceId'], additionalProperties: false,
} as const;
const STREAM_PARAMS = {
  type: 'object', properties: { id: { type: 'string', pattern: UUID }, key: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['id', 'key'], additionalProperties: false,
} as const;
const errors = { 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA, 413: ERROR_SCHEMA, 415: ERROR_SCHEMA, 422: ERROR_SCHEMA, 500: ERROR_SCHEMA, 503: ERROR_SCHEMA };
const ENROLLED = { type: 'object', properties: { face: FACE_SCHEMA, facesFound: { type: 'array', items: FOUND_SCHEMA } } } as const;

const publicFace = (f: FaceSummary) => ({ id: f.id, source: f.source, score: f.score, createdMs: f.createdMs, imageUrl: `/api/people/${f.personId}/faces/${f.id}.jpg` });
const publicPerson = (p: Person) => ({ id: p.id, name: p.name, createdMs: p.createdMs, faceCount: p.faces.length, faces: p.faces.map(publicFace) });

/** PeopleRouteDeps are what the people routes use. */
export interface PeopleRouteDeps {
  people: PeopleService;
  /** `auth.adminToken` ('' = writes open to same-origin requests). */
  adminToken: string;
}

/**
 * registerPeopleRoutes adds the people API to the app, in a scope of its own (its image body
 * parser and its error answers: schema errors 400 `ERR_BAD_REQUEST`, a body over the limit 413
 * `ERR_IMAGE_TOO_LARGE`, another content type 415 `ERR_UNSUPPORTED_MEDIA_TYPE`).
 */
export function registerPeopleRoutes(root: FastifyInstance, deps: PeopleRouteDeps): void {
  void root.register(async (app) => {
    app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number; code?: string }, _req, reply) => {
      if (err.validation) return reply.code(400).send({ error: 'ERR_BAD_REQUEST', message: err.message });
      if (err.statusCode === 413) return reply.code(413).send({ error: 'ERR_IMAGE_TOO_LARGE', message: `the image is larger than ${MAX_IMAGE_BYTES} bytes (${MAX_IMAGE_BYTES / 1048576} MiB)` });
      if (err.statusCode === 415) return reply.code(415).send({ error: 'ERR_UNSUPPORTED_MEDIA_TYPE', message: `${err.message}; send the image as image/jpeg or image/png, JSON as application/json` });
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'ERR_BAD_REQUEST', message: err.message });
      return reply.send(err);
    });
    app.addContentTypeParser(['image/jpeg', 'image/png'], { parseAs: 'buffer', bodyLimit: MAX_IMAGE_BYTES }, (_req, body, done) => done(null, body));
    routes(app as unknown as FastifyInstance, deps);
  });
}

function routes(app: FastifyInstance, { people, adminToken }: PeopleRouteDeps): void {
  const guard = controlGuard(adminToken);
  const run = <T>(reply: FastifyReply, work: () => Promise<T>) => work().catch((err) => sendError(reply, err));

  app.get('/api/people', {
    preHandler: guard,
    schema: { response: { 200: { type: 'object', properties: { people: { type: 'array', items: PERSON_SCHEMA } } }, ...errors } },
  }, async (_req, reply) => run(reply, async () => ({ people: (await people.list()).map(publicPerson) })));

  app.post<{ Body: { name: string } }>('/api/people', {
    schema: { body: NAME_BODY, response: { 201: PERSON_SCHEMA, ...errors } },
    preHandler: guard,
  }, async (req, reply) => run(reply, async () => reply.code(201).send(publicPerson(await people.create(req.body.name)))));

  app.get<{ Params: { id: string } }>('/api/people/:id', {
    preHandler: guard,
    schema: { params: PERSON_PARAMS, response: { 200: PERSON_SCHEMA, ...errors } },
  }, async (req, reply) => run(reply, async () => publicPerson(await people.get(req.params.id))));

  app.patch<{ Params: { id: string }; Body: { name: string } }>('/api/people/:id', {
    schema: { params: PERSON_PARAMS, body: NAME_BODY, response: { 200: PERSON_SCHEMA, ...errors } },
    preHandler: guard,
  }, async (req, reply) => run(reply, async () => publicPerson(await people.rename(req.params.id, req.body.name))));

  app.delete<{ Params: { id: string } }>('/api/people/:id', {
    schema: { params: PERSON_PARAMS, response: { 200: { type: 'object', properties: { deleted: PERSON_SCHEMA, eventsCleared: { type: 'integer' } } }, ...errors } },
    preHandler: guard,
  }, async (req, reply) => run(reply, async () => {
    const { person, eventsCleared } = await people.delete(req.params.id);
    return { deleted: publicPerson(person), eventsCleared };
  }));

  app.post<{ Params: { id: string }; Body: Buffer }>('/api/people/:id/faces', {
    schema: { params: PERSON_PARAMS, response: { 201: ENROLLED, ...errors } },
    bodyLimit: MAX_IMAGE_BYTES,
    preHandler: guard,
  }, async (req, reply) => run(reply, async () => {
    if (!Buffer.isBuffer(req.body)) throw new MediaServerError('ERR_IMAGE_FORMAT', 'http', `send the image as the raw body with Content-Type image/jpeg or image/png (got ${req.headers['content-type'] ?? 'none'})`);
    const { face, facesFound } = await people.enrolImage(req.params.id, req.body);
    return reply.code(201).send({ face: publicFace(face), facesFound });
  }));

  app.post<{ Params: { id: string; key: string } }>('/api/people/:id/faces/from-stream/:key', {
    schema: { params: STREAM_PARAMS, response: { 201: ENROLLED, ...errors } },
    preHandler: guard,
  }, async (req, reply) => run(reply, async () => {
    const { face, facesFound } = await people.enrolFromStream(req.params.id, req.params.key);
    return reply.code(201).send({ face: publicFace(face), facesFound });
  }));

  app.delete<{ Params: { id: string; faceId: string } }>('/api/people/:id/faces/:faceId', {
    schema: { params: FACE_PARAMS, response: { 200: { type: 'object', properties: { deleted: { type: 'string' } } }, ...errors } },
    preHandler: guard,
  }, async (req, reply) => run(reply, async () => {
    await people.deleteFace(req.params.id, req.params.faceId);
    return { deleted: req.params.faceId };
  }));

  app.get<{ Params: { id: string; faceId: string } }>('/api/people/:id/faces/:faceId.jpg', {
    preHandler: guard,
    schema: { params: FACE_PARAMS },
  }, async (req, reply) => run(reply, async () => {
    const jpeg = await people.faceImage(req.params.id, req.params.faceId);
    return reply.type('image/jpeg').header('Cache-Control', 'private, no-cache').send(Buffer.from(jpeg));
  }));
}
