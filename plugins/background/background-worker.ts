/**
 * Worker part of the `background` plugin, run once per frame in the inference pool:
 * I420 frame -> float RGB tensor [1, H, W, 3] in 0..1 (plugins/frame-tensor.ts) -> segmentation
 * (the model picked for the frame's shape) -> confidence [1, H, W, 1]
 * -> temporal smoothing with the stream's previous mask -> alpha matte -> composite into the frame.
 *
 * Buffers that never outlive one call are cached per worker by size; everything that belongs to a
 * stream (the previous mask) travels in the returned state, moved between threads, not copied. The
 * one per-stream thing a worker keeps is a cache: the matte it last made for the stream, reused
 * while load shedding reuses the mask it came from.
 */
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { Tensor } from 'onnxruntime-node';
import { defineFramePluginWorker, type YuvFrame } from '../plugin-api.ts';
import type { BackgroundOptions } from './background-options.ts';
import { BACKGROUND_MODEL_INPUTS, resolveModel } from './background-options.ts';
import { i420ToTensor } from '../frame-tensor.ts';
import { confidenceToAlpha } from './alpha-matte.ts';
import { compositeColor, compositePlanes } from './composite-yuv.ts';
import { loadImageBackground } from './image-background.ts';
import { compositeBlur } from './masked-blur.ts';
import { smoothMask } from './mask-smoothing.ts';
import { createAlphaPlanes, upsampleAlpha, type AlphaPlanes } from './upsample-alpha.ts';
import { hexToYuv } from '../yuv-color.ts';
import { updatePresence, type PersonPresence } from './person-presence.ts';

/** BackgroundState is the per-stream state carried from one frame to the next. */
export interface BackgroundState {
  /** Smoothed person confidence of the previous frame at model resolution (0..1, row-major). */
  previousMask: Float32Array;
  /** Model width x height the mask belongs to (the mask is ignored when the model changes). */
  maskWidth: number;
  maskHeight: number;
  /** Frame index at which the model last ran (load shedding reuses the mask until the interval passes). */
  modelFrameIndex: number;
  /** Id of the model run that produced the mask (unique in the process); a matte made from it can be reused. */
  maskId?: number;
  /** People in view (person-presence.ts): the `person` detection's track. */
  presence?: PersonPresence;
}

// Input tensors may still be read by a pending run() while another frame is preprocessed (when the
// pool runs several tasks per worker), so they come from a free list rather than one shared buffer.
const freeInputs = new Map<number, Float32Array[]>();

function takeInput(length: number): Float32Array {
  return freeInputs.get(length)?.pop() ?? new Float32Array(length);
}

function releaseInput(buffer: Float32Array): void {
  let list = freeInputs.get(buffer.length);
  if (list === undefined) freeInputs.set(buffer.length, (list = []));
  if (list.length < 4) list.push(buffer);
}

// The model-resolution matte: used only in the synchronous tail of process(), so one per size is enough.
const modelAlphaBySize = new Map<number, Uint8Array>();

function modelAlpha(length: number): Uint8Array {
  let buffer = modelAlphaBySize.get(length);
  if (buffer === undefined) {
    if (modelAlphaBySize.size >= 4) modelAlphaBySize.clear();
    modelAlphaBySize.set(length, (buffer = new Uint8Array(length)));
  }
  return buffer;
}

/**
 * StreamMatte is one stream's matte at frame resolution in this worker, kept so that frames which
 * reuse the stream's mask under load shedding also reuse its matte instead of upsampling it again.
 * A stream has at most one frame in flight, so its planes are never read and written at once.
 */
interface StreamMatte {
  /** What the planes were made from: the mask (BackgroundState.maskId), the matte options, the model size. */
  key: string;
  planes: AlphaPlanes;
}

/** Streams whose matte this worker keeps, least recently used first; ended streams age out. */
const matteByStream = new Map<string, StreamMatte>();
const MAX_STREAM_MATTES = 8;
let maskCounter = 0;

/** newMaskId returns an id unique in the process for a mask the model just produced. */
function newMaskId(): number {
  maskCounter += 1;
  return threadId * 2 ** 32 + maskCounter;
}

/** streamMatte returns the stream's matte entry, moved to the most recently used end (new planes when the frame size changed). */
function streamMatte(streamPath: string, frame: YuvFrame): StreamMatte {
  let entry = matteByStream.get(streamPath);
  if (entry !== undefined) matteByStream.delete(streamPath);
  if (entry === undefined || entry.planes.y.length !== frame.width * frame.height || entry.planes.yRuns.height !== frame.height) {
    entry = { key: '', planes: createAlphaPlanes(frame.width, frame.height) };
  }
  matteByStream.set(streamPath, entry);
  if (matteByStream.size > MAX_STREAM_MATTES) matteByStream.delete(matteByStream.keys().next().value!);
  return entry;
}

/**
 * hasMask is true when the state holds a usable mask for this model size. The mask is moved (not
 * copied) between threads, so a frame lost with a dying worker leaves an empty (detached) one.
 */
function hasMask(state: BackgroundState, width: number, height: number): boolean {
  return state.maskWidth === width && state.maskHeight === height && state.previousMask.length === width * height;
}

/**
 * shouldReuseMask is true when load shedding (`modelIntervalFrames` > 1) lets this frame reuse the
 * stream's last mask: one exists for this model size and fewer than `interval` frames have passed
 * since the model ran (a frame index that went backwards, e.g. after a reconnect, runs the model).
 */
export function shouldReuseMask(state: BackgroundState | undefined, frameIndex: number, interval: number, width: number, height: number): boolean {
  if (state === undefined || interval <= 1 || !hasMask(state, width, height)) return false;
  const elapsed = frameIndex - state.modelFrameIndex;
  return elapsed > 0 && elapsed < interval;
}

/** The background plugin's worker part (default export). */
export default defineFramePluginWorker<BackgroundOptions, BackgroundState>({
  async process(ctx) {
    const { frame, options, state } = ctx;
    if (options.mode === 'none') return state === undefined ? {} : { state };
    const modelId = resolveModel(options.model, frame.width, frame.height);
    const { width: mw, height: mh } = BACKGROUND_MODEL_INPUTS[modelId];
    const reuse = shouldReuseMask(state, frame.index, Math.floor(ctx.modelIntervalFrames ?? 1), mw, mh);

    // Everything awaited comes first, so the post-processing below runs without interruption.
    const image = options.mode === 'image' ? await loadImageBackground(options.imagePath, frame.width, frame.height) : undefined;
    let smoothed: Float32Array;
    let modelFrameIndex: number;
    let maskId: number;
    let preprocessMs = 0;
    let inferenceMs = 0;
    let smoothingMs = 0;
    if (reuse) {
      smoothed = state!.previousMask;
      modelFrameIndex = state!.modelFrameIndex;
      maskId = state!.maskId ?? newMaskId();
    } else {
      const runner = await ctx.model(modelId);
      const t0 = performance.now();
      const input = i420ToTensor(frame, { width: mw, height: mh, range: [0, 1] }, takeInput(mw * mh * 3));
      const t1 = performance.now();
      let confidence: Float32Array;
      try {
        const outputs = await runner.run({ [runner.inputNames[0]]: new Tensor('float32', input, [1, mh, mw, 3]) });
        const output = outputs[runner.outputNames[0]];
        if (output === undefined || output.type !== 'float32' || output.data.length !== mw * mh) {
          throw new Error(`background (${ctx.streamPath}): model '${modelId}' output '${runner.outputNames[0]}' has dims [${output?.dims.join(', ')}], expected [1, ${mh}, ${mw}, 1] float32`);
        }
        confidence = output.data as Float32Array;
      } finally {
        releaseInput(input);
      }
      const t2 = performance.now();
      preprocessMs = t1 - t0;
      inferenceMs = t2 - t1;
      // The state's own array is overwritten in place (each value is read before it is written); it is
      // transferred with the state, so it must never be a per-worker cached buffer.
      const previous = state !== undefined && hasMask(state, mw, mh) ? state.previousMask : undefined;
      smoothed = smoothMask(confidence, previous, options.smoothing, previous ?? new Float32Array(mw * mh));
      smoothingMs = performance.now() - t2;
      modelFrameIndex = frame.index;
      maskId = newMaskId();
    }

    // People in view, from the mask the model just made (a reused mask repeats its detection).
    let presence = state?.presence;
    let person = reuse ? presence?.last ?? null : null;
    if (!reuse) ({ presence, detection: person } = updatePresence(smoothed, mw, mh, frame.width, frame.height, options.threshold, presence));
    ctx.annotations.personMask = { width: mw, height: mh, confidence: smoothed };

    const t3 = performance.now();
    const matteKey = `${maskId} ${options.threshold}/${options.edgeSoftness} ${mw}x${mh}`;
    const matte = streamMatte(ctx.streamPath, frame);
    let t4 = t3;
    if (matte.key !== matteKey) {
      const alpha = confidenceToAlpha(smoothed, options.threshold, options.edgeSoftness, modelAlpha(mw * mh));
      t4 = performance.now();
      upsampleAlpha(alpha, mw, mh, frame.width, frame.height, matte.planes);
      matte.key = matteKey;
    }
    if (options.mode === 'color') compositeColor(frame, matte.planes, hexToYuv(options.color));
    else if (options.mode === 'blur') compositeBlur(frame, matte.planes, options.blurRadiusPx);
    else compositePlanes(frame, matte.planes, image!);
    const t5 = performance.now();

    return {
      state: { previousMask: smoothed, maskWidth: mw, maskHeight: mh, modelFrameIndex, maskId, presence },
      detections: person === null ? [] : [person],
      gauges: { people: person === null ? 0 : 1 },
      timings: { preprocessMs, inferenceMs, maskMs: smoothingMs + (t4 - t3), compositeMs: t5 - t4 },
    };
  },
});
