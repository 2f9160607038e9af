/**
 * The message a stream sends the inference pool for one frame, and what comes back.
 * Pixel buffers are ArrayBuffers moved (transferred), never copied or serialised.
 */

/** PluginCall is one plugin of the chain as the worker runs it. */
export interface PluginCall {
  /** Plugin name, for errors and timings. */
  name: string;
  /** URL of the plugin's worker module. */
  workerModule: string;
  /** Validated options for this stream. */
  options: unknown;
  /** Index into `FrameTask.modelInputs` of the scaled RGB copy it asked for, or -1. */
  modelInputIndex: number;
  /** State the plugin returned for the previous frame of this stream. */
  state: unknown;
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
  /** Scaled RGB24 copies, transferred. */
  modelInputs: { width: number; height: number; rgb: ArrayBuffer }[];
  plugins: PluginCall[];
  /** Run models at most every this many frames (load shedding; 1 = every frame). */
  modelIntervalFrames: number;
}

/** FrameTaskResult is the processed frame and each plugin's new state. */
export interface FrameTaskResult {
  /** The edited I420 frame, transferred back. */
  yuv: ArrayBuffer;
  /** New state per plugin (same order as `FrameTask.plugins`); the old state when a plugin failed. */
  states: unknown[];
  /** Durations in ms, keyed `<plugin>.<name>` plus `workerMs` for the whole task. */
  timings: Record<string, number>;
  /** One message per plugin that threw on this frame (the frame then passes that plugin unprocessed). */
  errors: string[];
}
