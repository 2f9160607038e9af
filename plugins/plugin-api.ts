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
  /**
   * What earlier plugins (and this one's `analyse`) published about this frame: read it, add to it.
   * Lives for one frame only; `analyse` of every plugin runs on the original (decoded) pixels
   * before any `process` edits them.
   */
  annotations: FrameAnnotations;
  /**
   * Server-wide data the host publishes to every plugin (e.g. the enrolled people's face embeddings),
   * as of when this frame was sent to the pool. Read only; absent keys (or no object) mean nothing published.
   */
  shared?: SharedData;
}

/** SharedDatum is one server-wide datum: a version (rises with each publish), JSON-able facts, and a float payload. */
export interface SharedDatum<Meta> {
  /** Rises with each publish of this datum (starts at 1). */
  version: number;
  /** Small JSON-able facts (names, ids, sizes). */
  meta: Meta;
  /** The bulk numbers, read only (a view of memory shared between threads: never write to it). */
  data: Float32Array;
}

/** FaceGalleryMeta describes the enrolled people's reference embeddings in `SharedData.gallery`. */
export interface FaceGalleryMeta {
  /** Embedding length (128: dlib's face descriptor, face-embed). */
  dims: number;
  /** Enrolled people (also those without faces yet). */
  people: { id: string; name: string }[];
  /** For each reference embedding (row of `data`, `dims` floats, L2-normalised): its person's index in `people`. */
  owners: number[];
}

/**
 * SharedData are the typed server-wide data plugins may read (`FrameContext.shared`). The host's
 * publisher adds a key here (with its docs) when it publishes something new.
 */
export interface SharedData {
  /** Enrolled people and their reference face embeddings (published by the people gallery; absent when it is off). */
  gallery?: SharedDatum<FaceGalleryMeta>;
}

/** PixelBox is an axis-aligned box in px of the frame (x, y: top-left corner). */
export interface PixelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** FaceAnnotation is one tracked face on this frame, in px of the frame. */
export interface FaceAnnotation {
  /** Track id, unique within the stream, stable while the face stays in view. */
  trackId: number;
  /** The tracked box (predicted between detector runs), px. */
  box: PixelBox;
  /** Detector confidence 0..1 of the track's last detection. */
  score: number;
  /** 6 keypoints (right eye, left eye, nose tip, mouth, right ear, left ear), px; [] when predicted. */
  keypoints: [number, number][];
  /** True once the track has been confirmed (seen on enough detector runs). */
  confirmed: boolean;
  /** True when the detector found the face on this very frame (false: predicted). */
  detected: boolean;
  /** Identity, once a recognition plugin has settled it; null = unknown, undefined = not asked. */
  label?: string | null;
}

/** PersonMaskAnnotation is the segmentation's person confidence at model resolution. */
export interface PersonMaskAnnotation {
  /** Mask width x height in px (model resolution), row-major. */
  width: number;
  height: number;
  /** Person confidence 0..1 per mask px. */
  confidence: Float32Array;
}

/**
 * FrameAnnotations are the typed facts plugins publish about one frame for later plugins of the
 * same frame. A plugin adds a key here (with its docs) when it publishes something new.
 */
export interface FrameAnnotations {
  /** Tracked faces, published by `faces`. */
  faces?: FaceAnnotation[];
  /** Person mask, published by `background`. */
  personMask?: PersonMaskAnnotation;
}

/**
 * Detection is one tracked object a plugin reports to the main thread for a frame (the host emits
 * them as a `detections` event, with stream key, frame index, PTS and wall-clock time).
 */
export interface Detection {
  /** What was seen. */
  kind: 'face' | 'person';
  /** Track id, unique within the stream and kind, stable while the object stays in view. */
  trackId: number;
  /** Confidence 0..1. */
  score: number;
  /** Box in px of the frame. */
  box: PixelBox;
  /** True once the track is confirmed (a few detector runs): stores start events only then. */
  confirmed: boolean;
  /** True when the model saw it on this frame; false when the tracker predicted it. */
  detected: boolean;
  /** Identity (recognition); null = unknown, undefined = not asked. */
  label?: string | null;
  /** Similarity 0..1 behind `label`, when there is one. */
  labelScore?: number;
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
  /** Objects to report to the main thread for this frame (see {@link Detection}). */
  detections?: Detection[];
  /** Named counters for this frame (e.g. `{ faces: 2 }`); the host keeps the latest per stream. */
  gauges?: Record<string, number>;
}

/** The worker-side module of a plugin: the default export of the file named by `workerModule`. */
export interface FramePluginWorker<Options = unknown, State = unknown> {
  /**
   * Optional first phase: reads the original decoded frame (every plugin's `analyse` runs, in
   * chain order, before any `process`), publishes annotations; must not edit the pixels. Its
   * result is merged with `process`'s (state: process gets analyse's state as `ctx.state`).
   */
  analyse?(ctx: FrameContext<Options, State>): Promise<FrameResult<State>>;
  /** Processes one frame: edits `ctx.frame` in place; must not keep references to the frame. */
  process(ctx: FrameContext<Options, State>): Promise<FrameResult<State>>;
  /**
   * For `failurePolicy: 'fail-closed'` plugins: called when `analyse` or `process` threw on this
   * frame, with the state of the previous frame; must hide what the plugin protects (e.g. cover
   * the last known face boxes grown by a margin). When it throws too, or is absent, the host
   * covers the whole frame. Returns the state to keep.
   */
  cover?(ctx: FrameContext<Options, State>, error: unknown): Promise<FrameResult<State>>;
}

/**
 * FailurePolicy says what leaves when a plugin fails on a frame: 'pass-through' (the frame goes on
 * without that plugin's edit, e.g. the background) or 'fail-closed' (never the unprotected frame:
 * the worker's `cover`, else the whole frame covered; an anonymising plugin).
 */
export type FailurePolicy = 'pass-through' | 'fail-closed';

/**
 * QueryOptions is what a plugin reads from a publisher's stream-key query (`live/demo?faces=blur`):
 * whether the stream turns the plugin on or off (undefined: the config's chain decides) and option
 * values (strings as given; the plugin's schema coerces and validates them).
 */
export interface QueryOptions {
  enabled?: boolean;
  options: Record<string, unknown>;
}

/** PreparedOptions are the options as the worker gets them after `prepare` (may add derived keys). */
export type PreparedOptions = Record<string, unknown>;

/** PluginHostContext is what the host tells a plugin's main-thread hooks about the server. */
export interface PluginHostContext {
  /** The plugin's server-level settings (`plugins.<name>` minus per-stream options), validated. */
  settings: Record<string, unknown>;
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
  /**
   * modelsFor names the models the plugin runs with these options (a subset of `models`): the pool
   * opens them before a stream with these options needs them, and the server warms only the
   * default chain's at start. Default: all of `models`.
   */
  modelsFor?(options: Options): string[];
  /** Absolute URL of the worker module (use `siblingModuleUrl(import.meta.url, 'x-worker')`). */
  workerModule: string;
  /** True when the plugin does nothing for these options (the pipeline then skips the pool). */
  isPassthrough?(options: Options): boolean;
  /** What happens to a frame this plugin failed on; default 'pass-through'. */
  failurePolicy?: FailurePolicy;
  /**
   * JSON schema of server-level settings that no stream may change (e.g. a folder), with defaults;
   * they sit beside the options under `plugins.<name>` in the config file.
   */
  settingsSchema?: { type: 'object'; properties: Record<string, unknown>; required?: readonly string[]; additionalProperties?: boolean };
  /**
   * fromQuery reads the plugin's keys from a stream-key query, including short aliases kept for
   * published URLs (`?bg=blur`). The host also takes `?<name>=on|off` and `?<name>.<option>=v`.
   */
  fromQuery?(query: Readonly<Record<string, string | undefined>>): QueryOptions;
  /**
   * prepare turns validated options into what the worker gets, on the main thread, when a stream
   * starts and when its options change (e.g. an image name to a checked file path).
   * @throws an Error with a `code` and a message naming the option when the options cannot be used
   *   (the publish is refused, or the PATCH answers 400).
   */
  prepare?(options: Options, host: PluginHostContext): PreparedOptions;
  /**
   * Option keys the worker receives but nobody sets (filled by `prepare`, e.g. a resolved file path):
   * refused on the query, over HTTP and in the config, and left out of what the API shows.
   */
  internalOptions?: string[];
  /**
   * An older name the plugin's options were known by, kept so published URLs and configs do not
   * break: a top-level config key, a field of each stream in `GET /api/streams`, and the route
   * `POST /api/streams/:key/<legacyName>` (e.g. `background`).
   */
  legacyName?: string;
  /** Command-line flags that set one option's server default, e.g. `{ flags: '--bg <mode>', option: 'mode' }`. */
  cliFlags?: { flags: string; description: string; option: string }[];
  /** Per-stream gauges the plugin reports in `FrameResult.gauges`, by name with their help text; exported as `livematte_<name>{stream}`. */
  gauges?: Record<string, string>;
  /** describe returns read-only facts for `GET /api/plugins` (e.g. the background images there are). */
  describe?(host: PluginHostContext): Promise<Record<string, unknown>>;
}

/** PluginOptionsError is what `prepare` throws: a code (e.g. `ERR_BACKGROUND_IMAGE`) and a message naming the option. */
export class PluginOptionsError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'PluginOptionsError';
  }
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
