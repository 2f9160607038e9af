/**
 * The server's frame plugins as configured: each plugin's option defaults (`plugins.<name>` in the
 * config over the plugin's own schema), its server-level settings, the default chain
 * (`pipeline.plugins`), and what a publisher's stream-key query turns on, off or sets.
 *
 * The host knows plugins only through their definitions (plugins/index.ts): nothing here names one.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { FramePluginDefinition, PluginHostContext } from '../../plugins/plugin-api.ts';
import { FRAME_PLUGINS } from '../../plugins/index.ts';
import { MediaServerError } from '../errors.ts';
import { PluginSharedData } from './plugin-shared-data.ts';

const ajv = new Ajv({ useDefaults: true, coerceTypes: true, allErrors: true });
const validators = new WeakMap<object, ValidateFunction>();

/**
 * pluginDefinition looks a plugin up by name.
 * @throws MediaServerError `ERR_PLUGIN_UNKNOWN` naming the plugin and the known ones.
 */
export function pluginDefinition(name: string): FramePluginDefinition<any> {
  const def = Object.hasOwn(FRAME_PLUGINS, name) ? FRAME_PLUGINS[name] : undefined;
  if (!def) {
    throw new MediaServerError('ERR_PLUGIN_UNKNOWN', 'config', `unknown frame plugin '${name}' (known: ${Object.keys(FRAME_PLUGINS).join(', ')})`, { fatal: true });
  }
  return def;
}

function validator(schema: object): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(schema, validate);
  }
  return validate;
}

function describeErrors(name: string, validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => {
    const key = `'${name}${e.instancePath.replaceAll('/', '.')}'`;
    if (e.keyword === 'additionalProperties') return `${key} has no option '${(e.params as { additionalProperty: string }).additionalProperty}'`;
    const allowed = e.keyword === 'enum' ? `: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : '';
    return `${key} ${e.message}${allowed}`;
  }).join('; ');
}

/**
 * validatePluginOptions applies defaults and checks options against the plugin's schema; keys in
 * `internalOptions` are refused unless `allowInternal`.
 * @throws MediaServerError `ERR_PLUGIN_OPTIONS` naming the plugin, the option and the rule.
 */
export function validatePluginOptions<T>(def: FramePluginDefinition<T>, options: unknown, allowInternal = false): T {
  const copy = structuredClone(options ?? {}) as Record<string, unknown>;
  if (!allowInternal) {
    const internal = (def.internalOptions ?? []).filter((k) => Object.hasOwn(copy, k));
    if (internal.length > 0) throw new MediaServerError('ERR_PLUGIN_OPTIONS', 'plugin', `invalid options: '${def.name}.${internal[0]}' is set by the server, not by streams`);
  }
  const validate = validator(def.optionsSchema);
  if (!validate(copy)) throw new MediaServerError('ERR_PLUGIN_OPTIONS', 'plugin', `invalid options: ${describeErrors(def.name, validate)}`);
  return copy as T;
}

/** publicOptions drops the options only the worker sees (`internalOptions`). */
export function publicOptions(def: FramePluginDefinition<any>, options: unknown): Record<string, unknown> {
  const out = { ...(options as Record<string, unknown>) };
  for (const key of def.internalOptions ?? []) delete out[key];
  return out;
}

/** modelsForOptions lists, once each, the models the plugins run with these options (`modelsFor`, else all of `models`). */
export function modelsForOptions(plugins: readonly { def: FramePluginDefinition<any>; options: Record<string, unknown> }[]): string[] {
  return [...new Set(plugins.flatMap(({ def, options }) => def.modelsFor?.(options) ?? def.models))];
}

/** PluginSelection is one plugin of a stream's chain with the option values the stream set. */
export interface PluginSelection {
  name: string;
  /** Options set for this stream over the server defaults (not yet validated). */
  overrides: Record<string, unknown>;
}

const ON = new Set(['on', 'true', '1']);
const OFF = new Set(['off', 'false', '0', 'none']);

/**
 * PluginCatalog holds the server's plugin configuration; one per server, checked at start.
 *
 * Config: `pipeline.plugins` is the default chain, in order; `plugins.<name>` holds the plugin's
 * option defaults and settings. A stream key's query adds or removes plugins and sets options:
 * `?<name>=on|off`, `?<name>.<option>=value`, and whatever the plugin's own `fromQuery` reads
 * (e.g. `?faces=blur`, `?bg=blur`). A plugin a stream turns on joins after the default chain.
 */
export class PluginCatalog {
  private readonly defaults = new Map<string, Record<string, unknown>>();
  private readonly settings = new Map<string, Record<string, unknown>>();
  /** Server-wide data published to every plugin with each frame (e.g. the people gallery's embeddings). */
  readonly shared = new PluginSharedData();

  /**
   * @param chain the default chain (`pipeline.plugins`)
   * @param configured `plugins.<name>` from the config: option defaults and settings mixed
   * @throws MediaServerError `ERR_PLUGIN_UNKNOWN`, `ERR_PLUGIN_OPTIONS` (fatal) before any stream starts.
   */
  constructor(readonly defaultChain: readonly string[], configured: Readonly<Record<string, Record<string, unknown>>> = {}) {
    for (const name of defaultChain) pluginDefinition(name);
    for (const name of Object.keys(configured)) pluginDefinition(name);
    for (const [name, def] of Object.entries(FRAME_PLUGINS)) {
      const given = { ...(configured[name] ?? {}) };
      const settingKeys = Object.keys(def.settingsSchema?.properties ?? {});
      const settings = Object.fromEntries(settingKeys.filter((k) => k in given).map((k) => [k, given[k]]));
      for (const k of settingKeys) delete given[k];
      if (def.settingsSchema) {
        const validate = validator(def.settingsSchema);
        if (!validate(settings)) throw new MediaServerError('ERR_PLUGIN_OPTIONS', 'config', `invalid plugin settings: ${describeErrors(`plugins.${name}`, validate)}`, { fatal: true });
      }
      this.settings.set(name, settings);
      try {
        this.defaults.set(name, validatePluginOptions(def, given) as Record<string, unknown>);
      } catch (err) {
        throw new MediaServerError('ERR_PLUGIN_OPTIONS', 'config', `plugins.${(err as Error).message.replace(/^invalid options: '/, "invalid options: 'plugins.")}`, { fatal: true });
      }
    }
  }

  /** names lists every known plugin. */
  get names(): string[] {
    return Object.keys(FRAME_PLUGINS);
  }

  /** optionDefaults returns a plugin's option defaults on this server (schema defaults under the config's). */
  optionDefaults(name: string): Record<string, unknown> {
    return publicOptions(pluginDefinition(name), structuredClone(this.defaults.get(name)!));
  }

  /** hostContext is what a plugin's main-thread hooks are told about this server. */
  hostContext(name: string): PluginHostContext {
    return { settings: this.settings.get(name) ?? {} };
  }

  /** models lists the registry model ids the plugins may run. */
  models(names: readonly string[] = this.names): string[] {
    return [...new Set(names.flatMap((n) => pluginDefinition(n).models))];
  }

  /** defaultChainModels lists the models the default chain runs with the server's option defaults (what is warmed at start). */
  defaultChainModels(): string[] {
    return modelsForOptions(this.defaultChain.map((name) => ({ def: pluginDefinition(name), options: this.defaults.get(name)! })));
  }

  /**
   * selectFromQuery turns a stream key's query into the stream's chain: the default chain, plus
   * plugins the query turns on, minus those it turns off, each with the options it sets. Keys that
   * name no plugin (e.g. `token`) are ignored.
   * @throws MediaServerError `ERR_PLUGIN_OPTIONS` for a value that turns a plugin neither on nor off
   *   and that the plugin does not read.
   */
  selectFromQuery(query: Readonly<Record<string, string | undefined>>): PluginSelection[] {
    const chain = [...this.defaultChain];
    const overrides = new Map<string, Record<string, unknown>>();
    for (const [name, def] of Object.entries(FRAME_PLUGINS)) {
      const read = def.fromQuery?.(query) ?? { options: {} };
      const options: Record<string, unknown> = { ...read.options };
      let enabled = read.enabled;
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined && key.startsWith(`${name}.`)) options[key.slice(name.length + 1)] = value;
      }
      const switchValue = query[name];
      if (enabled === undefined && switchValue !== undefined) {
        if (ON.has(switchValue.toLowerCase())) enabled = true;
        else if (OFF.has(switchValue.toLowerCase())) enabled = false;
        else throw new MediaServerError('ERR_PLUGIN_OPTIONS', 'plugin', `invalid options: '${name}=${switchValue.slice(0, 40)}' (use ${name}=on or ${name}=off)`);
      }
      if (enabled === true && !chain.includes(name)) chain.push(name);
      if (enabled === false && chain.includes(name)) chain.splice(chain.indexOf(name), 1);
      overrides.set(name, options);
    }
    return chain.map((name) => ({ name, overrides: overrides.get(name) ?? {} }));
  }
}
