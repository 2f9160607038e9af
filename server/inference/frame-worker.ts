/**
 * The inference pool's worker entry: runs a stream's plugin chain on one frame in a worker thread.
 * Holds one onnxruntime session per model per thread and caches plugin worker modules.
 */
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { FrameAnnotations, FrameContext, FramePluginWorker, FrameResult, ModelRunner, YuvFrame } from '../../plugins/plugin-api.ts';
import { modelPath, type ModelId } from '../../models/registry.ts';
import { createCpuSession } from '../../models/runtime/ort-session.ts';
import { SharedDataCache } from '../pipeline/plugin-shared-data.ts';
import { stateTransferables, type FrameTask, type FrameTaskResult } from './frame-task.ts';

const workerData = Piscina.workerData as { intraOpThreads?: number; modelsDir?: string } | undefined;
const intraOpNumThreads = Number(workerData?.intraOpThreads ?? 1);
/** Folder of the built ONNX models; undefined = models/build. */
const modelsDir = workerData?.modelsDir;
const requireModule = createRequire(import.meta.url);
const sessions = new Map<string, Promise<ModelRunner>>();
const pluginModules = new Map<string, Promise<FramePluginWorker>>();
const sharedData = new SharedDataCache();

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

/** coverWholeFrame paints the frame black: what a fail-closed plugin leaves when even its own cover failed. */
function coverWholeFrame(frame: YuvFrame): void {
  frame.y.fill(16);
  frame.u.fill(128);
  frame.v.fill(128);
}

/**
 * processFrame runs the stream's plugin chain on one frame, editing it in place: first every
 * plugin's `analyse` on the decoded pixels (annotations shared along the chain), then every
 * plugin's `process`, in chain order. A plugin that throws is handled by its failure policy: a
 * pass-through plugin's edit is skipped, a fail-closed plugin's `cover` runs at its place in the
 * chain (else the whole frame is covered), so an anonymised frame never leaves in the clear.
 */
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
  const annotations: FrameAnnotations = {};
  const shared = sharedData.view(task.shared);
  const states: unknown[] = task.plugins.map((call) => call.state);
  const failed: (unknown | undefined)[] = task.plugins.map(() => undefined);
  const result: FrameTaskResult = { yuv: task.yuv, states, timings: {}, errors: [], detections: [], gauges: {}, covered: [] };
  const context = (i: number): FrameContext<unknown, unknown> => ({
    frame, options: task.plugins[i]!.options, state: states[i], model, streamPath: task.streamPath,
    modelIntervalFrames: task.modelIntervalFrames, annotations, shared,
  });
  const take = (i: number, r: FrameResult<unknown>) => {
    const name = task.plugins[i]!.name;
    states[i] = r.state;
    for (const [k, v] of Object.entries(r.timings ?? {})) result.timings[`${name}.${k}`] = (result.timings[`${name}.${k}`] ?? 0) + v;
    for (const [k, v] of Object.entries(r.gauges ?? {})) result.gauges[`${name}.${k}`] = v;
    if (r.detections) result.detections.push(...r.detections);
  };
  const workers = await Promise.all(task.plugins.map((call) => pluginWorker(call.workerModule).catch((err: unknown) => err as Error)));
  workers.forEach((w, i) => { if (w instanceof Error) failed[i] = w; });
  for (let i = 0; i < task.plugins.length; i++) {
    const worker = workers[i];
    if (failed[i] !== undefined || !(worker && 'process' in worker) || !worker.analyse) continue;
    try {
      take(i, await worker.analyse(context(i)));
    } catch (err) {
      failed[i] = err;
    }
  }
  for (let i = 0; i < task.plugins.length; i++) {
    const call = task.plugins[i]!;
    const worker = workers[i] as FramePluginWorker;
    if (failed[i] === undefined) {
      try {
        take(i, await worker.process(context(i)));
        continue;
      } catch (err) {
        failed[i] = err;
      }
    }
    result.errors.push(`${call.name}: ${(failed[i] as Error)?.message ?? String(failed[i])}`);
    states[i] = call.state;
    if (call.failurePolicy !== 'fail-closed') continue;
    try {
      if (!worker?.cover) throw new Error('no cover');
      take(i, await worker.cover(context(i), failed[i]));
      result.covered.push({ plugin: call.name, by: 'plugin' });
    } catch {
      coverWholeFrame(frame);
      result.covered.push({ plugin: call.name, by: 'frame' });
    }
  }
  result.timings.workerMs = performance.now() - started;
  return Piscina.move(new MovedResult(result) as never);
}
