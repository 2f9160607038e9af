/**
 * The frame-plugin contract: what a plugin declares, what the host hands its worker part per frame.
 *
 * A plugin is a plain object made by {@link defineFramePlugin}. Its worker part runs in the
 * inference pool (a worker thread) once per frame; it edits the frame's YUV planes in place and
 * returns the per-stream state the next frame of the same stream receives back. State travels
 * with the frame, so workers stay stateless and any worker can take any frame. A plugin builds its
 * model's input tensor from the frame itself, at whatever size the frame calls for
 * (`i420ToTensor` in plugins/frame-tensor.ts).
 */
import type { JSONSchemaType } from 'ajv';

/** One decoded frame, planar YUV 4:2:0 (I420), 8 bit, limited range as decoded by ffmpeg. */
export interface YuvFrame {
  /** Luma width in px (even). */
  width: number;
  /** Luma height in px (even). */
  height: number;
  /** Y plane, `width * height` bytes, row stride = width. */
  y: Uint8Array;
  /** U (Cb) plane, `(width/2) * (height/2)` bytes, row stride = width/2. */
  u: Uint8Array;
  /** V (Cr) plane, same size as U. */
  v: Uint8Array;
  /** Zero-based frame index in the stream's decoded (constant-frame-rate) timeline. */
  index: number;
  /** Presentation time of the frame in ms from the first decoded frame (index / fps * 1000). */
  ptsMs: number;
}

/** Minimal view of an onnxruntime-node session (a subset of `ort.InferenceSession`). */
export interface ModelRunner {
  /** Input names in model order. */
  readonly inputNames: readonly string[];
  /** Output names in model order. */
  readonly outputNames: readonly string[];
  /** Runs the model; feeds and results are keyed by name. */
  run(feeds: Record<string, import('onnxruntime-node').Tensor>): Promise<Record<string, import('onnxruntime-node').Tensor>>;
}

/** What the host gives a plugin's worker part for one frame. */
export interface FrameContext<Options, State> {
  /** The frame to edit in place. */
  frame: YuvFrame;
  /** Validated options for this stream (defaults applied). */
  options: Options;
  /** The state this plugin returned for the previous frame of this stream; undefined on the first. */
  state: State | undefined;
  /** Opens (once per worker thread, then cached) the ONNX session of a registry model id. */
  model(id: string): Promise<ModelRunner>;
  /** Stream path, e.g. `/live/demo`, for error messages. */
  streamPath: string;
  /**
   * Load shedding: the host asks the plugin to run its model at most once every this many frames of
   * the stream (1 = every frame) and to reuse its last result in between. Rises when the server
   * falls behind real time, falls back to 1 when it catches up. Undefined means 1.
   */
  modelIntervalFrames?: number;
}

/** What a plugin's worker part returns for one frame. */
export interface FrameResult<State> {
  /**
   * State for the next frame of this stream (structured-cloneable). Typed arrays held directly by
   * the state object (each owning its whole ArrayBuffer) are moved between threads, not copied: the
   * sender's copy is then empty, so a plugin must not keep them in worker-wide caches, and must
   * check their length (a frame lost with a dying worker leaves them empty).
   */
  state?: State;
  /** Named durations in ms for the stats (e.g. `{ inferenceMs: 4.2, compositeMs: 1.1 }`). */
  timings?: Record<string, number>;
}

/** The worker-side module of a plugin: the default export of the file named by `workerModule`. */
export interface FramePluginWorker<Options = unknown, State = unknown> {
  /** Processes one frame: edits `ctx.frame` in place; must not keep references to the frame. */
  process(ctx: FrameContext<Options, State>): Promise<FrameResult<State>>;
}

/** A frame plugin's declaration, validated by the host before any stream starts. */
export interface FramePluginDefinition<Options = Record<string, unknown>> {
  /** Unique name, kebab-case, e.g. `background`. */
  name: string;
  /** Semver of the plugin. */
  version: string;
  /** One sentence for docs and the CLI. */
  description: string;
  /** JSON schema of the options object, with `default` on every property (ajv, useDefaults). */
  optionsSchema: JSONSchemaType<Options>;
  /** Registry model ids the plugin runs (checked at start; see models/registry.ts). */
  models: string[];
  /** Absolute URL of the worker module (use `siblingModuleUrl(import.meta.url, 'x-worker')`). */
  workerModule: string;
  /** True when the plugin does nothing for these options (the pipeline then skips the pool). */
  isPassthrough?(options: Options): boolean;
}

/**
 * siblingModuleUrl is the URL of module `name` in the folder of the module at `fromUrl` (pass
 * `import.meta.url`), with that module's own extension: `.ts` when running the sources with tsx,
 * `.js` when running the compiled `dist/` (`npm start`). E.g. `siblingModuleUrl(import.meta.url,
 * 'background-worker')`.
 */
export function siblingModuleUrl(fromUrl: string, name: string): string {
  const extension = /\.[cm]?[jt]s$/.exec(new URL(fromUrl).pathname)?.[0] ?? '.js';
  return new URL(`./${name}${extension}`, fromUrl).href;
}

/** defineFramePlugin returns its argument typed; one call per plugin, in `plugins/<name>/index.ts`. */
export function defineFramePlugin<Options>(definition: FramePluginDefinition<Options>): FramePluginDefinition<Options> {
  return definition;
}

/** defineFramePluginWorker types a plugin's worker part; default-export its result. */
export function defineFramePluginWorker<Options, State>(worker: FramePluginWorker<Options, State>): FramePluginWorker<Options, State> {
  return worker;
}
