/**
 * The stream API: `GET /api/streams`, `GET /api/streams/:key`, a stream's plugins
 * (`GET`/`PATCH /api/streams/:key/plugins/:name`, and `POST /api/streams/:key/<legacyName>` for
 * plugins that had a route of their own, e.g. `background`), and the plugins there are
 * (`GET /api/plugins`, `GET /api/plugins/:name`).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MediaServerError } from '../errors.ts';
import type { StreamRegistry } from '../ingest/stream-registry.ts';
import { pluginDefinition, publicOptions, type PluginCatalog } from '../pipeline/plugin-catalog.ts';
import { FRAME_PLUGINS } from '../../plugins/index.ts';
import { controlGuard } from './control-auth.ts';

const STATUS: Record<string, number> = {
  ERR_STREAM_NOT_FOUND: 404,
  ERR_PLUGIN_UNKNOWN: 404,
  ERR_PLUGIN_NOT_RUNNING: 409,
  ERR_PLUGIN_OPTIONS: 400,
};

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof MediaServerError) return reply.code(STATUS[err.code] ?? 400).send({ error: err.code, message: err.message });
  throw err;
}

const KEY_PARAMS = {
  type: 'object',
  properties: { key: { type: 'string', maxLength: 128 }, name: { type: 'string', maxLength: 64 } },
  required: ['key'],
} as const;

/** StreamRouteDeps are what the stream routes read. */
export interface StreamRouteDeps {
  registry: StreamRegistry;
  catalog: PluginCatalog;
  /** `auth.adminToken` ('' = control routes open to same-origin requests). */
  adminToken: string;
}

/** registerStreamRoutes adds the stream and plugin API to the app. */
export function registerStreamRoutes(app: FastifyInstance, { registry, catalog, adminToken }: StreamRouteDeps): void {
  const guard = controlGuard(adminToken);

  app.get('/api/streams', async () => ({ streams: registry.list() }));

  app.get<{ Params: { key: string } }>('/api/streams/:key', { schema: { params: KEY_PARAMS } }, async (req, reply) => {
    const stream = registry.get(req.params.key);
    if (!stream) return reply.code(404).send({ error: 'ERR_STREAM_NOT_FOUND', message: `no live stream '${req.params.key}'` });
    return stream;
  });

  app.get<{ Params: { key: string; name: string } }>('/api/streams/:key/plugins/:name', { schema: { params: KEY_PARAMS } }, async (req, reply) => {
    try {
      const options = registry.plugin(req.params.key, req.params.name);
      return { name: req.params.name, enabled: options !== undefined, options: options ?? null };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  // The body is the plugin's options (its own schema validates them, unknown keys are refused),
  // plus `enabled` to turn the plugin on or off for this stream.
  const update = async (key: string, name: string, body: Record<string, unknown> | undefined, reply: FastifyReply) => {
    const { enabled, ...patch } = body ?? {};
    if (enabled !== undefined && typeof enabled !== 'boolean') {
      return reply.code(400).send({ error: 'ERR_PLUGIN_OPTIONS', message: "'enabled' must be true or false" });
    }
    try {
      // The body is checked for the plugin's option names first: a request that names no option of
      // the plugin is a 400 whether or not the stream is live.
      const def = pluginDefinition(name);
      const known = Object.keys(def.optionsSchema.properties ?? {}).filter((k) => !(def.internalOptions ?? []).includes(k));
      const unknown = Object.keys(patch).find((k) => !known.includes(k));
      if (unknown !== undefined) {
        const why = (def.internalOptions ?? []).includes(unknown) ? `'${name}.${unknown}' is set by the server, not by streams` : `'${name}' has no option '${unknown}' (options: ${known.join(', ')})`;
        return reply.code(400).send({ error: 'ERR_PLUGIN_OPTIONS', message: `invalid options: ${why}` });
      }
      const options = registry.updatePlugin(key, name, patch, enabled as boolean | undefined);
      return { name, enabled: options !== undefined, options: options ?? null };
    } catch (err) {
      return sendError(reply, err);
    }
  };
  const body = { type: 'object' } as const;
  app.patch<{ Params: { key: string; name: string }; Body: Record<string, unknown> }>('/api/streams/:key/plugins/:name',
    { schema: { params: KEY_PARAMS, body }, preHandler: guard },
    async (req, reply) => update(req.params.key, req.params.name, req.body, reply));

  for (const def of Object.values(FRAME_PLUGINS)) {
    const legacy = def.legacyName;
    if (!legacy) continue;
    // The route the plugin had before plugins had their own: answers `{ <legacyName>: options }`.
    app.post<{ Params: { key: string }; Body: Record<string, unknown> }>(`/api/streams/:key/${legacy}`,
      { schema: { params: KEY_PARAMS, body }, preHandler: guard },
      async (req, reply) => {
        const answer = await update(req.params.key, def.name, req.body, reply);
        return reply.sent ? reply : { [legacy]: (answer as { options: unknown }).options };
      });
  }

  const describe = async (name: string) => {
    const def = pluginDefinition(name);
    const schema = { ...(def.optionsSchema.properties as Record<string, unknown>) };
    for (const key of def.internalOptions ?? []) delete schema[key];
    return {
      name: def.name, version: def.version, description: def.description,
      inDefaultChain: catalog.defaultChain.includes(def.name),
      failurePolicy: def.failurePolicy ?? 'pass-through',
      options: schema,
      defaults: publicOptions(def, catalog.optionDefaults(def.name)),
      ...(def.describe ? await def.describe(catalog.hostContext(def.name)) : {}),
    };
  };
  app.get('/api/plugins', async () => ({ plugins: await Promise.all(catalog.names.map(describe)) }));
  app.get<{ Params: { name: string } }>('/api/plugins/:name', async (req, reply) => {
    try {
      return await describe(req.params.name);
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
