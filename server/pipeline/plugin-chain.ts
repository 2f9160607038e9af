/**
 * The main-thread side of one stream's plugin chain: which plugins run, their options (as the
 * stream set them, and as prepared for the worker), each plugin's state between frames, and the
 * calls sent to the pool per frame.
 */
import type { FramePluginDefinition } from '../../plugins/plugin-api.ts';
import { MediaServerError } from '../errors.ts';
import type { PluginCall } from '../inference/frame-task.ts';
import type { SharedBlobs } from './plugin-shared-data.ts';
import { modelsForOptions, pluginDefinition, publicOptions, validatePluginOptions, type PluginCatalog, type PluginSelection } from './plugin-catalog.ts';

interface ChainEntry {
  def: FramePluginDefinition<any>;
  /** Validated options, defaults applied (what the API shows, minus internal keys). */
  options: Record<string, unknown>;
  /** What the worker gets (after the plugin's prepare). */
  prepared: Record<string, unknown>;
  state: unknown;
}

/** PluginChain holds one stream's plugins, their options and their state between frames. */
export class PluginChain {
  private entries: ChainEntry[];

  /** @throws MediaServerError `ERR_PLUGIN_UNKNOWN`, `ERR_PLUGIN_OPTIONS` or a plugin's own code (e.g. `ERR_BACKGROUND_IMAGE`). */
  constructor(private readonly catalog: PluginCatalog, selection: readonly PluginSelection[]) {
    this.entries = selection.map(({ name, overrides }) => this.entry(pluginDefinition(name), { ...catalog.optionDefaults(name), ...overrides }));
  }

  private entry(def: FramePluginDefinition<any>, raw: Record<string, unknown>, state?: unknown): ChainEntry {
    const options = validatePluginOptions(def, raw) as Record<string, unknown>;
    let prepared = options;
    try {
      if (def.prepare) prepared = def.prepare(options, this.catalog.hostContext(def.name));
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERR_PLUGIN_OPTIONS';
      throw new MediaServerError(code, 'plugin', (err as Error).message, { cause: err });
    }
    return { def, options, prepared, state };
  }

  /** names lists the plugins in the chain, in order. */
  get names(): string[] {
    return this.entries.map((e) => e.def.name);
  }

  /** passthrough is true when every plugin does nothing for its current options. */
  /** failsClosed is true when a plugin of the chain fails closed: no frame of it may leave unprocessed. */
  get failsClosed(): boolean {
    return this.entries.some((e) => e.def.failurePolicy === 'fail-closed');
  }

  get passthrough(): boolean {
    return this.entries.every((e) => e.def.isPassthrough?.(e.prepared) ?? false);
  }

  /** options returns a plugin's current options as users see them, or undefined if not in the chain. */
  options(name: string): Record<string, unknown> | undefined {
    const e = this.entries.find((x) => x.def.name === name);
    return e && publicOptions(e.def, e.options);
  }

  /** all returns every plugin's current options, by name (chain order). */
  all(): Record<string, Record<string, unknown>> {
    return Object.fromEntries(this.entries.map((e) => [e.def.name, publicOptions(e.def, e.options)]));
  }

  /**
   * update changes a plugin's options for the next frames (its state is kept): `patch` goes over
   * the current options. A plugin not in the chain joins its end with the server defaults under
   * `patch` when `enable` is true; `enable` false removes it.
   * @throws MediaServerError `ERR_PLUGIN_NOT_RUNNING`, `ERR_PLUGIN_OPTIONS` or a plugin's own code;
   *   nothing changes then.
   */
  update(name: string, patch: Record<string, unknown>, enable?: boolean): Record<string, unknown> | undefined {
    const def = pluginDefinition(name);
    const index = this.entries.findIndex((e) => e.def.name === name);
    if (enable === false) {
      if (index >= 0) this.entries = this.entries.filter((_, i) => i !== index);
      return undefined;
    }
    if (index < 0) {
      if (enable !== true) throw new MediaServerError('ERR_PLUGIN_NOT_RUNNING', 'plugin', `plugin '${name}' is not running on this stream (send "enabled": true to start it)`);
      const added = this.entry(def, { ...this.catalog.optionDefaults(name), ...patch });
      this.entries = [...this.entries, added];
      return publicOptions(def, added.options);
    }
    const current = this.entries[index]!;
    const next = this.entry(def, { ...publicOptions(def, current.options), ...patch }, current.state);
    this.entries = this.entries.map((e, i) => (i === index ? next : e));
    return publicOptions(def, next.options);
  }

  /** models lists the registry models the chain runs with its current options. */
  models(): string[] {
    return modelsForOptions(this.entries);
  }

  /** workerModules lists the chain's plugin worker modules. */
  workerModules(): string[] {
    return this.entries.map((e) => e.def.workerModule);
  }

  /** shared is the server-wide plugin data to send with the next frame. */
  shared(): SharedBlobs {
    return this.catalog.shared.snapshot();
  }

  /** calls returns the per-frame plugin calls with the current options and states. */
  calls(): PluginCall[] {
    return this.entries.map((e) => ({
      name: e.def.name, workerModule: e.def.workerModule, options: e.prepared, state: e.state,
      failurePolicy: e.def.failurePolicy ?? 'pass-through',
    }));
  }

  /**
   * keepStates stores the states a worker returned for the frame just processed; `calls` are the
   * calls that frame was sent with (the chain may have changed while it was in the pool).
   */
  keepStates(calls: readonly PluginCall[], states: readonly unknown[]): void {
    calls.forEach((call, i) => {
      const entry = this.entries.find((e) => e.def.name === call.name);
      if (entry) entry.state = states[i];
    });
  }
}
