/**
 * The batched event writer: the frame path hands it writes (never waiting), a timer flushes them
 * every `flushIntervalMs`, merged per event, in transactions of at most MAX_BATCH_WRITES. The queue has a bound: when it is full, queued
 * writes of the same event are merged (an upsert carries the whole event, so the newest one wins
 * and loses nothing); if it is still full, starts, ends and snapshots are kept anyway (one per
 * tracked object, not per frame) and updates are dropped and counted, the next update or the
 * end carrying their content. A failed flush keeps its writes at the head of the queue: the
 * error is logged once per cause and counted, the next ticks try again, and a line says when
 * writing has resumed. A store that can not be opened (read-only or missing folder) is retried
 * the same way.
 */
import type { Logger } from '../logger.ts';
import type { EventStore, EventWrite } from './event-store.ts';

/** EventWriterOptions size the writer. */
export interface EventWriterOptions {
  /** Flush period, ms. */
  flushIntervalMs: number;
  /** Writes queued before merging starts (the bound). */
  maxQueue: number;
}

/** WRITE_ERROR_CAUSES are the causes write errors are logged under (others: `other`). */
export const WRITE_ERROR_CAUSES = ['SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_BUSY', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'ENOSPC', 'EACCES', 'EROFS'] as const;

/** writeErrorCause maps an error to the cause it is counted under (SQLite extended codes to their base). */
export function writeErrorCause(err: unknown): string {
  const code = String((err as { code?: unknown })?.code ?? '');
  return WRITE_ERROR_CAUSES.find((c) => code === c || code.startsWith(`${c}_`)) ?? (code || 'other');
}

/**
 * MAX_BATCH_WRITES bounds one transaction: a longer queue is written in several, the event loop
 * running in between. Measured with bench/store.bench.ts (2,000 events/s beside 3 streams of
 * 720p30): flushes of ~1,700 upserts in one transaction stalled the main thread for up to 134 ms.
 */
export const MAX_BATCH_WRITES = 250;

const keyOf = (w: EventWrite) => (w.op === 'upsert' ? `e:${w.event.id}` : `s:${w.id}`);

/** EventWriter queues and flushes writes to an EventStore. */
export class EventWriter {
  private queue: EventWrite[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private opened = false;
  private failing?: string;
  private readonly loggedCauses = new Set<string>();
  /** writeErrors counts failed flushes (and failed opens) since start. */
  writeErrors = 0;
  /** droppedUpdates counts updates dropped because the queue was full of other events' writes. */
  droppedUpdates = 0;
  /** writesDone counts writes committed. */
  writesDone = 0;

  constructor(
    private readonly store: EventStore,
    private readonly options: EventWriterOptions,
    private readonly log: Logger,
    /** Told once the store is open (first time only), with what opening closed. */
    private readonly onOpen?: (result: { closedOnRestart: number }) => void,
  ) {}

  /** depth is the number of writes waiting. */
  get depth(): number {
    return this.queue.length;
  }

  /** failingCause is the cause of the last failed open or flush while writing has not resumed (undefined: writing works). */
  get failingCause(): string | undefined {
    return this.failing;
  }

    /** isOpen is true once the store opened. */
  get isOpen(): boolean {
    return this.opened;
  }

  /** start opens the store (a failure is logged, counted and retried at each tick) and starts the timer. */
  async start(): Promise<void> {
    await this.tryOpen();
    this.timer = setInterval(() => { void this.flush(); }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * enqueue adds a write; it never blocks and never throws. `essential` is false for an update
   * (an event that started and has not ended): only those may be dropped when the queue is full.
   */
  enqueue(write: EventWrite, essential = true): void {
    if (this.queue.length >= this.options.maxQueue) this.compact();
    if (this.queue.length >= this.options.maxQueue) {
      const k = keyOf(write);
      for (let i = this.queue.length - 1; i >= 0; i--) {
        if (keyOf(this.queue[i]!) === k) {
          this.queue[i] = write;
          return;
        }
      }
      if (!essential) {
        this.droppedUpdates += 1;
        return;
      }
    }
    this.queue.push(write);
  }

  /** compact merges queued writes of the same event into the newest one, keeping queue order by first appearance. */
  private compact(): void {
    const latest = new Map<string, EventWrite>();
    for (const w of this.queue) latest.set(keyOf(w), w);
    const out: EventWrite[] = [];
    const placed = new Set<string>();
    for (const w of this.queue) {
      const k = keyOf(w);
      if (placed.has(k)) continue;
      placed.add(k);
      out.push(latest.get(k)!);
    }
    this.queue = out;
  }

  /** flush writes what is queued now in one transaction; resolves when done (or failed: never rejects). */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  private async tryOpen(): Promise<boolean> {
    if (this.opened) return true;
    try {
      const result = await this.store.open();
      this.opened = true;
      this.recovered();
      this.onOpen?.(result);
      return true;
    } catch (err) {
      this.failed(err, 'the event store can not be opened; events are kept in memory and it is tried again');
      return false;
    }
  }

  private async doFlush(): Promise<void> {
    if (!(await this.tryOpen())) return;
    if (this.queue.length === 0) return;
    // A start and an end of one event queued in the same period are one row to write.
    this.compact();
    let pending = this.queue;
    this.queue = [];
    while (pending.length > 0) {
      const batch = pending.slice(0, MAX_BATCH_WRITES);
      pending = pending.slice(batch.length);
      try {
        await this.store.writeBatch(batch);
        this.writesDone += batch.length;
        this.recovered();
      } catch (err) {
        // Kept for the next tick, ahead of what came meanwhile (order matters: a start before its snapshot).
        this.queue = batch.concat(pending, this.queue);
        this.compact();
        this.failed(err, 'writing events failed; they stay queued and are written again once the cause is gone');
        return;
      }
      // The store may run on this thread (better-sqlite3): frames go through between transactions.
      if (pending.length > 0) await new Promise<void>((r) => setImmediate(r));
    }
  }

  private failed(err: unknown, message: string): void {
    this.writeErrors += 1;
    const cause = writeErrorCause(err);
    this.failing = cause;
    if (this.loggedCauses.has(cause)) return;
    this.loggedCauses.add(cause);
    this.log.error({ code: 'ERR_EVENT_STORE_WRITE', cause, err: (err as Error).message, queued: this.queue.length }, message);
  }

  private recovered(): void {
    if (this.failing === undefined) return;
    this.log.warn({ cause: this.failing, queued: this.queue.length }, 'event store writes resumed');
    this.failing = undefined;
    this.loggedCauses.clear();
  }

  /** close flushes what is queued (one try) and stops the timer; the store stays the caller's to close. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    await this.flush();
  }
}
