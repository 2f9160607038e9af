/**
 * The Piscina worker pool that runs frame plugins (onnxruntime + sharp) off the main thread.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { siblingModuleUrl } from '../../plugins/plugin-api.ts';
import { stateTransferables, type FrameTask, type FrameTaskResult } from './frame-task.ts';

/** InferencePoolOptions sizes the pool. */
export interface InferencePoolOptions {
  /** Worker threads; 0 = number of CPU cores. */
  workers: number;
  /** onnxruntime intra-op threads per worker. */
  intraOpThreads: number;
  /** Folder of the built ONNX models the workers load; default models/build. */
  modelsDir?: string;
}

/** InferencePool runs FrameTasks on worker threads, moving pixel buffers both ways. */
export class InferencePool {
  private readonly piscina: Piscina;
  /** Models and worker modules warmed (or being warmed) in every thread. */
  private readonly warmed = new Set<string>();

  constructor(options: InferencePoolOptions) {
    const threads = options.workers || availableParallelism();
    this.piscina = new Piscina({
      filename: siblingModuleUrl(import.meta.url, 'frame-worker'),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData: { intraOpThreads: options.intraOpThreads, modelsDir: options.modelsDir },
    });
  }

  /** threads is the number of worker threads. */
  get threads(): number {
    return this.piscina.threads.length;
  }

  /** queueSize is the number of tasks waiting for a worker. */
  get queueSize(): number {
    return this.piscina.queueSize;
  }

  /**
   * run processes one frame; the task's buffers, and typed arrays held by plugin states, are
   * transferred (unusable by the caller afterwards).
   * Rejects when the worker dies or the pool is closed.
   */
  run(task: FrameTask): Promise<FrameTaskResult> {
    const transferList = [task.yuv, ...stateTransferables(task.plugins.map((p) => p.state))];
    return this.piscina.run(task, { transferList }) as Promise<FrameTaskResult>;
  }

  /**
   * warmUp loads `models` and plugin `workerModules` in every worker thread (one task per thread,
   * run together so that each idle thread takes one). Rejects when a model cannot be opened.
   */
  async warmUp(models: string[], workerModules: string[]): Promise<void> {
    const tasks = Array.from({ length: this.threads || 1 }, () => this.piscina.run({ models, workerModules }, { name: 'warmUp' }));
    for (const m of models) this.warmed.add(m);
    for (const m of workerModules) this.warmed.add(m);
    try {
      await Promise.all(tasks);
    } catch (err) {
      for (const m of [...models, ...workerModules]) this.warmed.delete(m);
      throw err;
    }
  }

  /**
   * prepare warms whichever of `models` and `workerModules` the pool has not warmed yet (a stream
   * about to run them), so the first frames that need a model do not stall a worker while it opens.
   * Workers still open a model on first use (a thread that was busy, or replaced after a crash).
   * Rejects when a model cannot be opened.
   */
  async prepare(models: readonly string[], workerModules: readonly string[]): Promise<void> {
    const newModels = models.filter((m) => !this.warmed.has(m));
    const newModules = workerModules.filter((m) => !this.warmed.has(m));
    if (newModels.length > 0 || newModules.length > 0) await this.warmUp(newModels, newModules);
  }

  /** close ends every worker. */
  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
