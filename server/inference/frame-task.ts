/**
 * The message a stream sends the inference pool for one frame, and what comes back.
 * Pixel buffers are ArrayBuffers moved (transferred), never copied or serialised.
 */
import type { Detection, FailurePolicy } from '../../plugins/plugin-api.ts';
import type { SharedBlobs } from '../pipeline/plugin-shared-data.ts';

/**
 * stateTransferables lists the ArrayBuffers of the typed arrays held directly by plugin states
 * (e.g. the background plugin's previous mask), so that they are moved with a task or a result
 * instead of copied. Only arrays that own their whole (non-shared) buffer are listed, each once.
 */
export function stateTransferables(states: readonly unknown[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const state of states) {
    if (state === null || typeof state !== 'object') continue;
    for (const value of Object.values(state)) {
      if (!ArrayBuffer.isView(value)) continue;
      const buffer = value.buffer;
      if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength && buffer.byteLength > 0 && !out.includes(buffer)) out.push(buffer);
    }
  }
  return out;
}

/** PluginCall is one plugin of the chain as the worker runs it. */
export interface PluginCall {
  /** Plugin name, for errors and timings. */
  name: string;
  /** URL of the plugin's worker module. */
  workerModule: string;
  /** Validated options for this stream. */
  options: unknown;
  /** State the plugin returned for the previous frame of this stream. */
  state: unknown;
  /** What leaves when the plugin fails on this frame. */
  failurePolicy: FailurePolicy;
}

/** FrameTask is one frame of one stream. */
export interface FrameTask {
  streamPath: string;
  width: number;
  height: number;
  index: number;
  ptsMs: number;
  /** I420 frame (w*h*3/2 bytes), transferred. */
  yuv: ArrayBuffer;
  plugins: PluginCall[];
  /** Run models at most every this many frames (load shedding; 1 = every frame). */
  modelIntervalFrames: number;
  /** Server-wide data for the plugins (plugin-shared-data.ts), shared memory: passed by reference. */
  shared?: SharedBlobs;
}

/** FrameTaskResult is the processed frame and each plugin's new state. */
export interface FrameTaskResult {
  /** The edited I420 frame, transferred back. */
  yuv: ArrayBuffer;
  /** New state per plugin (same order as `FrameTask.plugins`); the old state when a plugin failed. */
  states: unknown[];
  /** Durations in ms, keyed `<plugin>.<name>` plus `workerMs` for the whole task. */
  timings: Record<string, number>;
  /**
   * One message per plugin that threw on this frame: a pass-through plugin's frame then passes it
   * unprocessed, a fail-closed plugin's frame is covered (see `covered`).
   */
  errors: string[];
  /** What the plugins reported on this frame, in chain order. */
  detections: Detection[];
  /** Per-frame gauges keyed `<plugin>.<name>` (e.g. `faces.faces`). */
  gauges: Record<string, number>;
  /**
   * Fail-closed plugins that failed on this frame, with how the frame was covered: 'plugin' (the
   * plugin's own cover, e.g. the last known face boxes) or 'frame' (the whole frame).
   */
  covered: { plugin: string; by: 'plugin' | 'frame' }[];
}
