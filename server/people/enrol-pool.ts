/**
 * The enrolment pool: one worker thread of its own (Piscina) for the face models of enrolment
 * (detect, align, embed), so an upload never holds the main thread or a stream's frame workers.
 * The thread starts on the first enrolment, opens its models once and stays.
 */
import { Piscina } from 'piscina';
import { siblingModuleUrl } from '../../plugins/plugin-api.ts';
import type { EnrolResult, EnrolTask } from './enrol-worker.ts';

/** ENROL_MAX_QUEUE is how many enrolments may wait for the thread before more are refused. */
export const ENROL_MAX_QUEUE = 8;

/** EnrolPool runs EnrolTasks. */
export class EnrolPool {
  private readonly piscina: Piscina;

  /** `modelsDir`: folder of the built models (config `modelsDir`; empty = models/build). */
  constructor(modelsDir?: string) {
    this.piscina = new Piscina({
      filename: siblingModuleUrl(import.meta.url, 'enrol-worker'),
      minThreads: 0,
      maxThreads: 1,
      // The longest timer Node keeps (about 24.8 days): in effect, never idle.
      idleTimeout: 2 ** 31 - 1,
      maxQueue: ENROL_MAX_QUEUE,
      workerData: { modelsDir },
    });
  }

  /** queueFull is true when a new enrolment would be refused. */
  get queueFull(): boolean {
    return this.piscina.queueSize >= ENROL_MAX_QUEUE;
  }

  /**
   * run enrols from one image or frame; an I420 task's buffer is transferred. Resolves with the
   * faces found and the embedding or a rejection; rejects when a model fails to load or run, the
   * queue is full or the pool is closed.
   */
  run(task: EnrolTask): Promise<EnrolResult> {
    const transferList = task.kind === 'i420' ? [task.yuv] : [];
    return this.piscina.run(task, { transferList }) as Promise<EnrolResult>;
  }

  /** close ends the thread. */
  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
