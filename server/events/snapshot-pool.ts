/**
 * The snapshot pool: one worker thread of its own (Piscina) that encodes JPEG snapshots, so that
 * neither the main thread nor the inference pool's frame workers spend time on them. The thread
 * starts on the first task and leaves after a minute without one.
 */
import { Piscina } from 'piscina';
import { siblingModuleUrl } from '../../plugins/plugin-api.ts';
import type { SnapshotResult, SnapshotTask } from './snapshot-worker.ts';

/** SNAPSHOT_MAX_QUEUE is how many snapshots may wait for the thread before more are refused. */
export const SNAPSHOT_MAX_QUEUE = 32;

/** SnapshotPool runs SnapshotTasks. */
export class SnapshotPool {
  private readonly piscina = new Piscina({
    filename: siblingModuleUrl(import.meta.url, 'snapshot-worker'),
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 60_000,
    maxQueue: SNAPSHOT_MAX_QUEUE,
  });

  /**
   * encode makes one JPEG (or writes the given one); the task's frame buffer is transferred
   * (unusable by the caller afterwards). A file that can not be written (ENOSPC, EROFS, EACCES, ...)
   * resolves with `writeError` and the JPEG (see SnapshotResult). Rejects when sharp fails, the
   * queue is full or the pool is closed.
   */
  encode(task: SnapshotTask): Promise<SnapshotResult> {
    return this.piscina.run(task, { transferList: task.yuv ? [task.yuv] : [] }) as Promise<SnapshotResult>;
  }

  /** close ends the thread. */
  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
