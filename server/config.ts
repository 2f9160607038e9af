/**
 * Loads the server configuration: defaults < YAML file < environment < CLI flags.
 *
 * Environment variables are the key path in upper snake case behind `LIVEMATTE_`, e.g.
 * `hls.segmentDurationMs` -> `LIVEMATTE_HLS_SEGMENT_DURATION_MS`.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { configSchema, type ServerConfig } from './config-schema.ts';
import { MediaServerError } from './errors.ts';
import { FRAME_PLUGINS } from '../plugins/index.ts';

export type { ServerConfig } from './config-schema.ts';

/** ENV_PREFIX is the prefix of every configuration environment variable. */
export const ENV_PREFIX = 'LIVEMATTE_';

const ajv = new Ajv({ useDefaults: true, coerceTypes: 'array', allErrors: true });
const validate = ajv.compile(configSchema);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isObject(value) && isObject(out[key]) ? merge(out[key] as Json, value) : value;
  }
  return out;
}

function envName(path: string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** configLeafPaths lists every leaf key path of the schema, e.g. `['hls','segmentDurationMs']`. */
export function configLeafPaths(schema: Json = configSchema as unknown as Json, prefix: string[] = []): string[][] {
  const props = (schema.properties ?? {}) as Record<string, Json>;
  return Object.entries(props).flatMap(([key, sub]) =>
    sub.type === 'object' ? configLeafPaths(sub, [...prefix, key]) : [[...prefix, key]]);
}

/**
 * legacyPath maps `plugins.<name>.<key>` to `<legacyName>.<key>` for a plugin that has an older
 * name (e.g. `background.mode`, as configs were written before plugins had their own section).
 */
function legacyPath(path: string[]): string[] | undefined {
  const legacy = path[0] === 'plugins' && path[1] ? FRAME_PLUGINS[path[1]]?.legacyName : undefined;
  return legacy ? [legacy, ...path.slice(2)] : undefined;
}

/** withPluginAliases moves a layer's `<legacyName>: {...}` keys under `plugins.<name>` (the new keys win). */
function withPluginAliases(layer: Json): Json {
  let out = { ...layer };
  for (const def of Object.values(FRAME_PLUGINS)) {
    const legacy = def.legacyName;
    if (!legacy || !isObject(out[legacy])) continue;
    const { [legacy]: old, ...rest } = out;
    out = merge({ plugins: { [def.name]: old } }, rest);
  }
  return out;
}

/**
 * ENV_ALIASES are shorter names kept beside a key's own variable (the own name wins when both are
 * set): `LIVEMATTE_PUBLISH_SECRET` and `LIVEMATTE_PLAY_SECRET` are how the docs tell operators to
 * pass the publish and play secrets.
 */
const ENV_ALIASES: Readonly<Record<string, string>> = {
  'auth.publishSecret': `${ENV_PREFIX}PUBLISH_SECRET`,
  'auth.playSecret': `${ENV_PREFIX}PLAY_SECRET`,
};

/** configFromEnv picks the `LIVEMATTE_*` variables that name a config key into a partial config. */
export function configFromEnv(env: NodeJS.ProcessEnv): Json {
  let out: Json = {};
  for (const path of configLeafPaths()) {
    const legacy = legacyPath(path);
    const alias = ENV_ALIASES[path.join('.')];
    const raw = env[envName(path)] ?? (legacy && env[envName(legacy)]) ?? (alias && env[alias]);
    if (raw === undefined) continue;
    const value: unknown = path.join('.') === 'pipeline.plugins' ? raw.split(',').filter(Boolean) : raw;
    out = merge(out, path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Json);
  }
  return out;
}

/** configEnvNames maps each dotted key to its environment variable name (for docs). */
export function configEnvNames(): Record<string, string> {
  return Object.fromEntries(configLeafPaths().map((p) => [p.join('.'), envName(p)]));
}

/**
 * resolveConfig merges the layers and validates them.
 * @throws MediaServerError `ERR_CONFIG_INVALID` naming the key and the rule, e.g.
 *   `'hls.segmentDurationMs' must be >= 500`, `'auth.rawPlay' token needs 'auth.playSecret'`,
 *   `'events.store' postgres needs 'events.postgresUrl'`.
 */
export function resolveConfig(layers: { file?: Json; env?: Json; cli?: Json }): ServerConfig {
  const [file, env, cli] = [layers.file, layers.env, layers.cli].map((l) => withPluginAliases(l ?? {}));
  const merged = merge(merge(merge({}, file!), env!), cli!);
  if (!validate(merged)) {
    const messages = (validate.errors ?? []).map((e) => {
      const key = e.instancePath.slice(1).replaceAll('/', '.') || '(root)';
      const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
      const allowed = e.keyword === 'enum' ? `: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : '';
      return `'${key}' ${e.message}${extra}${allowed}`;
    });
    throw new MediaServerError('ERR_CONFIG_INVALID', 'config', `invalid configuration: ${messages.join('; ')}`, { fatal: true });
  }
  const config = merged as unknown as ServerConfig;
  // A rule across keys, which the schema can not say: nobody could ever play a raw input.
  if (config.auth.rawPlay === 'token' && !config.auth.playSecret) {
    throw new MediaServerError('ERR_CONFIG_INVALID', 'config', "invalid configuration: 'auth.rawPlay' token needs 'auth.playSecret' (or use 'off')", { fatal: true });
  }
  if (config.cluster.enabled && !config.cluster.redisUrl) {
    throw new MediaServerError('ERR_CONFIG_INVALID', 'config', "invalid configuration: 'cluster.enabled' needs 'cluster.redisUrl' (LIVEMATTE_CLUSTER_REDIS_URL)", { fatal: true });
  }
  if (config.events.store === 'postgres' && !config.events.postgresUrl) {
    throw new MediaServerError('ERR_CONFIG_INVALID', 'config', "invalid configuration: 'events.store' postgres needs 'events.postgresUrl' (LIVEMATTE_EVENTS_POSTGRES_URL)", { fatal: true });
  }
  return config;
}

/**
 * loadConfigFile reads a YAML (or JSON) config file into a partial config.
 * @throws MediaServerError `ERR_CONFIG_FILE` when the file is unreadable or not a mapping.
 */
export function loadConfigFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new MediaServerError('ERR_CONFIG_FILE', 'config', `cannot read config file ${path}: ${(cause as Error).message}`, { fatal: true, cause });
  }
  const parsed: unknown = parseYaml(text) ?? {};
  if (!isObject(parsed)) {
    throw new MediaServerError('ERR_CONFIG_FILE', 'config', `config file ${path} must hold a mapping of keys`, { fatal: true });
  }
  return parsed;
}

/** defaultConfig returns the configuration with nothing but defaults. */
export function defaultConfig(): ServerConfig {
  return resolveConfig({});
}
