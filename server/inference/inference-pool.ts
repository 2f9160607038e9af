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
    await Promise.all(tasks);
  }

  /** close ends every worker. */
  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
