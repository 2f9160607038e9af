/**
 * The inference pool's worker entry: runs a stream's plugin chain on one frame in a worker thread.
 * Holds one onnxruntime session per model per thread and caches plugin worker modules.
 */
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { FramePluginWorker, ModelRunner, YuvFrame } from '../../plugins/plugin-api.ts';
import { modelPath, type ModelId } from '../../models/registry.ts';
import { createCpuSession } from '../../models/runtime/ort-session.ts';
import { stateTransferables, type FrameTask, type FrameTaskResult } from './frame-task.ts';

const workerData = Piscina.workerData as { intraOpThreads?: number; modelsDir?: string } | undefined;
const intraOpNumThreads = Number(workerData?.intraOpThreads ?? 1);
/** Folder of the built ONNX models; undefined = models/build. */
const modelsDir = workerData?.modelsDir;
const requireModule = createRequire(import.meta.url);
const sessions = new Map<string, Promise<ModelRunner>>();
const pluginModules = new Map<string, Promise<FramePluginWorker>>();

function model(id: string): Promise<ModelRunner> {
  let session = sessions.get(id);
  if (!session) {
    session = createCpuSession(modelPath(id as ModelId, modelsDir), { intraOpNumThreads });
    session.catch(() => sessions.delete(id));
    sessions.set(id, session);
  }
  return session;
}

function pluginWorker(url: string): Promise<FramePluginWorker> {
  let mod = pluginModules.get(url);
  if (!mod) {
    // Node 20 does not apply tsx's ESM loader hooks inside worker threads, only its require hook,
    // so a TypeScript plugin module (run from the sources) is loaded with require; compiled
    // JavaScript (dist/, `npm start`) is plain ESM.
    const load = url.endsWith('.ts') ? Promise.resolve().then(() => requireModule(fileURLToPath(url))) : import(url);
    mod = load.then((m) => (m as { default: FramePluginWorker }).default);
    mod.catch(() => pluginModules.delete(url));
    pluginModules.set(url, mod);
  }
  return mod;
}

/**
 * warmUp opens the given models and loads the plugin modules in this worker thread, so a stream's
 * first frames do not wait for them (and a model that cannot load fails before anything listens).
 */
export async function warmUp(task: { models: string[]; workerModules: string[] }): Promise<number> {
  const started = performance.now();
  await Promise.all([...task.models.map(model), ...task.workerModules.map(pluginWorker)]);
  return performance.now() - started;
}

class MovedResult {
  constructor(private readonly value: FrameTaskResult) {}
  get [Piscina.transferableSymbol](): ArrayBuffer[] {
    const moved = [this.value.yuv, ...stateTransferables(this.value.states)];
    return moved.filter((b, i) => b.byteLength > 0 && moved.indexOf(b) === i);
  }
  get [Piscina.valueSymbol](): FrameTaskResult {
    return this.value;
  }
}

/** processFrame runs every plugin of `task.plugins` in order on the frame, editing it in place. */
export default async function processFrame(task: FrameTask): Promise<unknown> {
  const started = performance.now();
  const { width, height } = task;
  const ySize = width * height;
  const cSize = (width / 2) * (height / 2);
  const frame: YuvFrame = {
    width, height, index: task.index, ptsMs: task.ptsMs,
    y: new Uint8Array(task.yuv, 0, ySize),
    u: new Uint8Array(task.yuv, ySize, cSize),
    v: new Uint8Array(task.yuv, ySize + cSize, cSize),
  };
  const states: unknown[] = [];
  const errors: string[] = [];
  const timings: Record<string, number> = {};
  for (const call of task.plugins) {
    try {
      const worker = await pluginWorker(call.workerModule);
      const result = await worker.process({
        frame,
        options: call.options,
        state: call.state,
        model,
        streamPath: task.streamPath,
        modelIntervalFrames: task.modelIntervalFrames,
        annotations: {},
      });
      states.push(result.state);
      for (const [k, v] of Object.entries(result.timings ?? {})) timings[`${call.name}.${k}`] = v;
    } catch (err) {
      states.push(call.state);
      errors.push(`${call.name}: ${(err as Error).message}`);
    }
  }
  timings.workerMs = performance.now() - started;
  return Piscina.move(new MovedResult({ yuv: task.yuv, states, timings, errors }) as never);
}
