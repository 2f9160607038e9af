/**
 * The main-thread side of a stream's plugin chain: validated options, each plugin's state between
 * frames, and the calls sent to the pool per frame.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { FramePluginDefinition } from '../../plugins/plugin-api.ts';
import { FRAME_PLUGINS } from '../../plugins/index.ts';
import { MediaServerError } from '../errors.ts';
import type { PluginCall } from '../inference/frame-task.ts';

const ajv = new Ajv({ useDefaults: true, coerceTypes: true, allErrors: true });
const validators = new Map<string, ValidateFunction>();

/**
 * pluginDefinition looks a plugin up by name.
 * @throws MediaServerError `ERR_PLUGIN_UNKNOWN` naming the plugin and the known ones.
 */
export function pluginDefinition(name: string): FramePluginDefinition<any> {
  const def = FRAME_PLUGINS[name];
  if (!def) {
    throw new MediaServerError('ERR_PLUGIN_UNKNOWN', 'config', `unknown frame plugin '${name}' (known: ${Object.keys(FRAME_PLUGINS).join(', ')})`, { fatal: true });
  }
  return def;
}

/**
 * validatePluginOptions applies defaults and checks options against the plugin's schema.
 * @throws MediaServerError `ERR_PLUGIN_OPTIONS` naming the plugin, key and rule.
 */
export function validatePluginOptions<T>(def: FramePluginDefinition<T>, options: unknown): T {
  let validate = validators.get(def.name);
  if (!validate) {
    validate = ajv.compile(def.optionsSchema);
    validators.set(def.name, validate);
  }
  const copy = structuredClone(options ?? {});
  if (!validate(copy)) {
    const why = (validate.errors ?? []).map((e) => `'${def.name}${e.instancePath.replaceAll('/', '.')}' ${e.message}`).join('; ');
    throw new MediaServerError('ERR_PLUGIN_OPTIONS', 'plugin', `invalid options: ${why}`);
  }
  return copy as T;
}

interface ChainEntry {
  def: FramePluginDefinition<any>;
  options: unknown;
  state: unknown;
}

/** PluginChain holds one stream's plugins, their options and their state between frames. */
export class PluginChain {
  private readonly entries: ChainEntry[];

  /** @throws MediaServerError on an unknown plugin or invalid options. */
  constructor(plugins: { name: string; options: unknown }[]) {
    this.entries = plugins.map(({ name, options }) => {
      const def = pluginDefinition(name);
      const valid = validatePluginOptions(def, options);
      return { def, options: valid, state: undefined };
    });
  }

  /** passthrough is true when every plugin does nothing for its current options. */
  get passthrough(): boolean {
    return this.entries.every((e) => e.def.isPassthrough?.(e.options) ?? false);
  }

  /** options returns the current options of a plugin, or undefined if not in the chain. */
  options(name: string): unknown {
    return this.entries.find((e) => e.def.name === name)?.options;
  }

  /**
   * setOptions validates and swaps a plugin's options for the next frames (its state is kept).
   * @throws MediaServerError `ERR_PLUGIN_OPTIONS`.
   */
  setOptions(name: string, options: unknown): unknown {
    const entry = this.entries.find((e) => e.def.name === name);
    if (!entry) throw new MediaServerError('ERR_PLUGIN_UNKNOWN', 'plugin', `plugin '${name}' is not running on this stream`);
    entry.options = validatePluginOptions(entry.def, options);
    return entry.options;
  }

  /** calls returns the per-frame plugin calls with the current options and states. */
  calls(): PluginCall[] {
    return this.entries.map((e) => ({
      name: e.def.name, workerModule: e.def.workerModule, options: e.options, state: e.state,
    }));
  }

  /** keepStates stores the states a worker returned for the frame just processed. */
  keepStates(states: unknown[]): void {
    states.forEach((state, i) => { if (this.entries[i]) this.entries[i].state = state; });
  }

}
