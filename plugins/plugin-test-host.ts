/**
 * A small in-process host for testing one frame plugin without the server: it validates options
 * against the plugin's schema (ajv, useDefaults), imports the plugin's worker module, opens models
 * with onnxruntime-node, feeds frames, and carries the per-stream state from frame to frame
 * (structured-cloned, as the worker pool would). Helpers turn RGB images into I420 frames and back.
 */
import { Ajv } from 'ajv';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type {
  FrameAnnotations,
  FramePluginDefinition,
  FramePluginWorker,
  FrameResult,
  ModelRunner,
  SharedData,
  YuvFrame,
} from './plugin-api.ts';

/** RgbImage is packed RGB24, `width * height * 3` bytes, row stride = width * 3. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** PluginTestHostOptions tunes a test host; every field is optional. */
export interface PluginTestHostOptions {
  /** Maps a registry model id to its ONNX file; default: `modelPath` of models/registry.ts. */
  resolveModelPath?: (id: string) => string | Promise<string>;
  /** Replaces onnxruntime entirely (e.g. a fake runner with known outputs); called once per model id. */
  openModel?: (id: string) => Promise<ModelRunner>;
  /** Stream path given to the plugin (default `/test/stream`). */
  streamPath?: string;
  /** Frames per second used for `ptsMs` of frames built by the host (default 30). */
  fps?: number;
  /** Load-shedding interval passed to the plugin as `modelIntervalFrames` (default undefined = every frame). */
  modelIntervalFrames?: number;
  /** Server-wide data handed to each frame (read per frame, so a test can change it between frames); default none. */
  shared?: () => SharedData;
}

/** ProcessedFrame is what the host returns for an RGB input: the edited frame, its RGB view and the plugin's result. */
export interface ProcessedFrame<State> {
  frame: YuvFrame;
  result: FrameResult<State>;
  /** The edited frame converted back to RGB (BT.601 limited range). */
  output: RgbImage;
}

/** PluginTestHost runs one plugin's worker part for one simulated stream. */
export interface PluginTestHost<Options, State> {
  /** Validated options with defaults applied. */
  readonly options: Options;
  /** State returned by the last processed frame (undefined before the first). */
  readonly state: State | undefined;
  /**
   * process runs the worker on `frame` (edited in place): its `analyse` (when it has one), then
   * its `process`, sharing `annotations` (default: none from earlier plugins); keeps the state.
   */
  process(frame: YuvFrame, annotations?: FrameAnnotations): Promise<FrameResult<State>>;
  /** processRgb builds the I420 frame from `image`, processes it, and converts back to RGB. */
  processRgb(image: RgbImage): Promise<ProcessedFrame<State>>;
  /** resetState forgets the stream state (as after a stream restart). */
  resetState(): void;
  /** close releases every ONNX session the host opened. */
  close(): Promise<void>;
}

/**
 * validatePluginOptions returns `raw` (copied) validated against the plugin's schema with defaults
 * applied; throws an Error naming the plugin and each failing option.
 */
export function validatePluginOptions<Options>(plugin: FramePluginDefinition<Options>, raw: Partial<Options> = {}): Options {
  const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: true });
  const validate = ajv.compile(plugin.optionsSchema);
  const options = structuredClone(raw) as Options;
  if (!validate(options)) {
    const details = (validate.errors ?? []).map((e) => `'${e.instancePath.slice(1) || '(root)'}' ${e.message}`).join('; ');
    throw new Error(`plugin '${plugin.name}': invalid options: ${details}`);
  }
  return options;
}

async function defaultModelPath(id: string): Promise<string> {
  const registry = await import('../models/registry.ts');
  return registry.modelPath(id as Parameters<typeof registry.modelPath>[0]);
}

/**
 * createPluginTestHost validates `rawOptions` for `plugin`, imports its worker module and returns a
 * host for one simulated stream; rejects when the options are invalid or the module has no default worker.
 */
export async function createPluginTestHost<Options, State = unknown>(
  plugin: FramePluginDefinition<Options>,
  rawOptions: Partial<Options> = {},
  hostOptions: PluginTestHostOptions = {},
): Promise<PluginTestHost<Options, State>> {
  const options = validatePluginOptions(plugin, rawOptions);
  const module = (await import(plugin.workerModule)) as { default?: FramePluginWorker<Options, State> };
  const worker = module.default;
  if (worker === undefined || typeof worker.process !== 'function') {
    throw new Error(`plugin '${plugin.name}': ${plugin.workerModule} has no default export made by defineFramePluginWorker`);
  }
  const resolveModelPath = hostOptions.resolveModelPath ?? defaultModelPath;
  const streamPath = hostOptions.streamPath ?? '/test/stream';
  const fps = hostOptions.fps ?? 30;
  const sessions = new Map<string, Promise<ModelRunner>>();
  const openModel = hostOptions.openModel ?? ((id: string) => Promise.resolve(resolveModelPath(id)).then((path) => ort.InferenceSession.create(path)));
  let state: State | undefined;
  let frameIndex = 0;

  const model = (id: string): Promise<ModelRunner> => {
    if (!plugin.models.includes(id)) {
      return Promise.reject(new Error(`plugin '${plugin.name}' asked for model '${id}' it does not declare (${plugin.models.join(', ')})`));
    }
    let session = sessions.get(id);
    if (session === undefined) {
      session = openModel(id);
      sessions.set(id, session);
    }
    return session;
  };

  const host: PluginTestHost<Options, State> = {
    options,
    get state() {
      return state;
    },
    async process(frame, annotations = {}) {
      const context = { frame, options, state, model, streamPath, modelIntervalFrames: hostOptions.modelIntervalFrames, annotations, shared: hostOptions.shared?.() ?? {} };
      // As the pool's worker: `analyse` first (its state is what `process` gets), results merged.
      const analysed = worker.analyse ? await worker.analyse(context) : undefined;
      if (analysed) context.state = analysed.state;
      const processed = await worker.process(context);
      const result: FrameResult<State> = {
        ...analysed,
        ...processed,
        timings: { ...analysed?.timings, ...processed.timings },
        gauges: { ...analysed?.gauges, ...processed.gauges },
        detections: [...(analysed?.detections ?? []), ...(processed.detections ?? [])],
      };
      // The pool posts state between threads: a structured clone catches state that could not travel.
      state = result.state === undefined ? undefined : structuredClone(result.state);
      return result;
    },
    async processRgb(image) {
      const frame = rgbToYuvFrame(image, frameIndex, fps);
      frameIndex++;
      const result = await host.process(frame);
      return { frame, result, output: yuvFrameToRgb(frame) };
    },
    resetState() {
      state = undefined;
    },
    async close() {
      const opened = [...sessions.values()];
      sessions.clear();
      for (const pending of opened) {
        const session = await pending.catch(() => undefined);
        const release = (session as { release?: () => Promise<void> } | undefined)?.release;
        if (typeof release === 'function') await release.call(session);
      }
    },
  };
  return host;
}

/**
 * loadRgbImage decodes an image file or buffer with sharp into RGB24 (alpha dropped), optionally
 * resized to exactly width x height (fill); odd sizes are cropped to even so they fit I420.
 */
export async function loadRgbImage(source: string | Buffer, size?: { width: number; height: number }): Promise<RgbImage> {
  let pipeline = sharp(source).removeAlpha().toColourspace('srgb');
  if (size !== undefined) pipeline = pipeline.resize(size.width, size.height, { fit: 'fill' });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const image = { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  return cropToEven(image);
}

function cropToEven(image: RgbImage): RgbImage {
  const width = image.width & ~1;
  const height = image.height & ~1;
  if (width === image.width && height === image.height) return image;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) rgb.set(image.rgb.subarray(y * image.width * 3, y * image.width * 3 + width * 3), y * width * 3);
  return { width, height, rgb };
}

const clamp8 = (x: number): number => (x < 0 ? 0 : x > 255 ? 255 : Math.round(x));

/**
 * rgbToYuvFrame converts RGB24 (even width and height) to an I420 YuvFrame with BT.601 limited range
 * (ffmpeg's default), chroma from the mean of each 2x2 block; `ptsMs` = index / fps * 1000.
 */
export function rgbToYuvFrame(image: RgbImage, index = 0, fps = 30): YuvFrame {
  const { width, height, rgb } = image;
  if ((width & 1) !== 0 || (height & 1) !== 0) throw new RangeError(`rgbToYuvFrame: ${width}x${height} must be even`);
  const cw = width >> 1;
  const y = new Uint8Array(width * height);
  const u = new Uint8Array(cw * (height >> 1));
  const v = new Uint8Array(u.length);
  for (let i = 0; i < width * height; i++) {
    const r = rgb[i * 3], g = rgb[i * 3 + 1], b = rgb[i * 3 + 2];
    y[i] = clamp8(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
  }
  for (let cy = 0; cy < height >> 1; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      let r = 0, g = 0, b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const p = ((cy * 2 + dy) * width + cx * 2 + dx) * 3;
        r += rgb[p]; g += rgb[p + 1]; b += rgb[p + 2];
      }
      r /= 4; g /= 4; b /= 4;
      u[cy * cw + cx] = clamp8(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
      v[cy * cw + cx] = clamp8(128 + (112 * r - 93.786 * g - 18.214 * b) / 255);
    }
  }
  return { width, height, y, u, v, index, ptsMs: (index / fps) * 1000 };
}

/** yuvFrameToRgb converts an I420 frame (BT.601 limited range) to RGB24, chroma upsampled by nearest neighbour. */
export function yuvFrameToRgb(frame: YuvFrame): RgbImage {
  const { width, height } = frame;
  const cw = width >> 1;
  const rgb = new Uint8Array(width * height * 3);
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      const yy = (frame.y[py * width + px] - 16) * (255 / 219);
      const c = (py >> 1) * cw + (px >> 1);
      const cb = (frame.u[c] - 128) * (255 / 224);
      const cr = (frame.v[c] - 128) * (255 / 224);
      const p = (py * width + px) * 3;
      rgb[p] = clamp8(yy + 1.402 * cr);
      rgb[p + 1] = clamp8(yy - 0.344136 * cb - 0.714136 * cr);
      rgb[p + 2] = clamp8(yy + 1.772 * cb);
    }
  }
  return { width, height, rgb };
}

/** solidRgbImage returns a width x height RGB24 image filled by `pixel(x, y)` -> [r, g, b] (synthetic test input). */
export function solidRgbImage(width: number, height: number, pixel: (x: number, y: number) => readonly [number, number, number]): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      rgb.set([r, g, b], (y * width + x) * 3);
    }
  }
  return { width, height, rgb };
}
