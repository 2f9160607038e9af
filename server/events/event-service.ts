/**
 * The event service: the sink outside the frame path that owns the event store. It listens to
 * the stream registry (`detections`, `streamEnded`), runs the tracker, queues writes for the
 * batched writer, makes each event's snapshot at its best moment (copied from the stream's frames
 * by the frame grabber, encoded in the snapshot pool), tells live-feed listeners what changed, and
 * applies retention. The HTTP routes only read through it.
 */
import { EventEmitter } from 'node:events';
import { join, resolve, sep } from 'node:path';
import { readdir, rm, rmdir } from 'node:fs/promises';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { StreamRegistry } from '../ingest/stream-registry.ts';
import type { DetectionsEvent } from '../pipeline/detections-event.ts';
import { EventTracker } from './event-tracker.ts';
import { EventWriter, writeErrorCause } from './event-writer.ts';
import type { EventPage, EventQuery, EventStore } from './event-store.ts';
import { createEventStore, nodeIdOf } from './create-event-store.ts';
import { EVENT_KINDS, type EventChange, type EventKind, type EventRecord } from './event-record.ts';
import { FrameGrabber, type GrabbedFrame } from './frame-grabber.ts';
import { SnapshotPool } from './snapshot-pool.ts';
import { MediaServerError } from '../errors.ts';

/** SNAPSHOT_SETTLE_MS: an event's snapshot is encoded once its best moment has held this long (or at its end). */
export const SNAPSHOT_SETTLE_MS = 1000;
/** RETENTION_INTERVAL_MS is how often retention runs (also once at start). */
export const RETENTION_INTERVAL_MS = 3_600_000;
/** SNAPSHOT_RETRY_MS is how often snapshots whose file could not be written (disk full, read-only) are tried again. */
export const SNAPSHOT_RETRY_MS = 2000;
/** SNAPSHOT_MAX_UNWRITTEN_BYTES bounds the JPEGs kept in memory for a retry (the oldest go first beyond it): 32 MiB. */
export const SNAPSHOT_MAX_UNWRITTEN_BYTES = 32 * 1024 * 1024;
/** INPUT_CROP_MARGIN grows an input snapshot's crop around the box, as a fraction of the box per side. */
export const INPUT_CROP_MARGIN = 0.25;
const DAY_MS = 86_400_000;

/** EventServiceEvents: `change` is every start, update and end (the live feed). */
export interface EventServiceEvents {
  change: [change: EventChange];
}

/** EventMetricsSource is what the metrics read. */
export interface EventMetricsSource {
  startedByKind(): ReadonlyMap<EventKind, number>;
  queueDepth(): number;
  writeErrors(): number;
  snapshotBytes(): number;
  nodeLostEvents(): number;
}

/** EventHealth is what `/healthz` shows of the events (see eventHealthReport). */
export interface EventHealth {
  /** The store opened. */
  storeOpen: boolean;
  /** Cause of the store's failing writes (e.g. `SQLITE_FULL`), undefined while they work. */
  storeFailing?: string;
  /** Cause of the failing snapshot writes (e.g. `ENOSPC`), undefined while they work. */
  snapshotsFailing?: string;
  /** Writes waiting for the store. */
  queued: number;
  /** Snapshots kept in memory until their file can be written. */
  unwrittenSnapshots: number;
  /** Failed writes since start (store and snapshot files). */
  writeErrors: number;
}

/** UnwrittenSnapshot is an encoded snapshot whose file could not be written yet. */
interface UnwrittenSnapshot {
  event: EventRecord;
  rel: string;
  path: string;
  jpeg: Uint8Array;
  width: number;
  height: number;
}

interface BestFrame {
  frame: Promise<GrabbedFrame>;
  event: EventRecord;
  timer?: NodeJS.Timeout;
}

/** snapshotFile is the snapshot of event `e` relative to the snapshots folder: `<key>/<UTC date>/<id>.jpg`. */
export function snapshotFile(e: Pick<EventRecord, 'streamKey' | 'startMs' | 'id'>): string {
  return `${e.streamKey}/${new Date(e.startMs).toISOString().slice(0, 10)}/${e.id}.jpg`;
}

/** EventService runs events for the server. */
export class EventService extends EventEmitter<EventServiceEvents> implements EventMetricsSource {
  readonly tracker: EventTracker;
  readonly grabber: FrameGrabber;
  /** Absolute folder of the snapshots, `<dataDir>/snapshots`. */
  readonly snapshotsDir: string;
  private readonly store: EventStore;
  private readonly writer: EventWriter;
  /** This node's id (`nodeId`, default the host name): what the store records on its events. */
  private readonly nodeId: string;
  private readonly snapshots = new SnapshotPool();
  private readonly best = new Map<string, BestFrame>();
  private readonly encoding = new Map<string, Promise<void>>();
  /** Snapshot of each open event once written (the live feed's events carry it). */
  private readonly written = new Map<string, { path: string; bytes: number }>();
  private readonly started = new Map<EventKind, number>(EVENT_KINDS.map((k) => [k, 0]));
  private readonly loggedSnapshotCauses = new Set<string>();
  /** Snapshots to write again, by event id, oldest first. */
  private readonly unwritten = new Map<string, UnwrittenSnapshot>();
  private unwrittenBytes = 0;
  private snapshotsFailing?: string;
  private retrying?: Promise<void>;
  private snapshotErrors = 0;
  private snapshotBytesTotal = 0;
  private nodeLostTotal = 0;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private readonly onDetections = (d: DetectionsEvent) => this.observe(d);
  private readonly onStreamEnded = (key: string) => this.endStream(key);

  constructor(
    private readonly config: ServerConfig,
    private readonly registry: StreamRegistry,
    private readonly log: Logger,
    store?: EventStore | { store: EventStore; where: string },
  ) {
    super();
    this.setMaxListeners(0);
    const dataDir = resolve(config.dataDir);
    this.snapshotsDir = join(dataDir, 'snapshots');
    const made = store === undefined ? createEventStore(config) : 'where' in store ? store : { store, where: 'given' };
    this.store = made.store;
    this.nodeId = nodeIdOf(config);
    this.tracker = new EventTracker({ trackLostMs: config.events.trackLostMs });
    this.grabber = new FrameGrabber(config.snapshots.source === 'input');
    this.writer = new EventWriter(this.store, { flushIntervalMs: config.events.flushIntervalMs, maxQueue: config.events.maxQueue }, log, ({ closedOnRestart }) => {
      log.info({ closedOnRestart, store: config.events.store, where: made.where }, 'event store open');
      void this.applyRetention();
    });
  }

  /** start opens the store (a failure is logged and retried: streams run regardless) and listens to the registry. */
  async start(): Promise<void> {
    this.registry.frameTaps = (key) => this.grabber.tap(key);
    this.registry.on('detections', this.onDetections);
    this.registry.on('streamEnded', this.onStreamEnded);
    await this.writer.start();
    this.timers.push(setInterval(() => { void this.applyRetention(); }, RETENTION_INTERVAL_MS));
    this.timers.push(setInterval(() => { void this.retryUnwritten(); }, SNAPSHOT_RETRY_MS));
    if (this.config.snapshots.everySeconds > 0) {
      this.timers.push(setInterval(() => this.keepPeriodicFrames(), this.config.snapshots.everySeconds * 1000));
    }
    for (const t of this.timers) t.unref();
  }

  // --- metrics
  startedByKind(): ReadonlyMap<EventKind, number> { return this.started; }
  queueDepth(): number { return this.writer.depth; }
  writeErrors(): number { return this.writer.writeErrors + this.snapshotErrors; }
  snapshotBytes(): number { return this.snapshotBytesTotal; }
  nodeLostEvents(): number { return this.nodeLostTotal; }

  /** health says whether events and snapshots are being written (`/healthz`). */
  health(): EventHealth {
    return {
      storeOpen: this.writer.isOpen, storeFailing: this.writer.failingCause, snapshotsFailing: this.snapshotsFailing,
      queued: this.writer.depth, unwrittenSnapshots: this.unwritten.size, writeErrors: this.writeErrors(),
    };
  }

  /** available is false until the store has opened (reads then answer 503). */
  get available(): boolean {
    return this.writer.isOpen;
  }

  private observe(d: DetectionsEvent): void {
    if (this.closed) return;
    const out = this.tracker.observe(d);
    for (const e of out.improved) this.keepBestFrame(e, d);
    for (const c of out.changes) this.publish(c);
  }

  private endStream(key: string): void {
    this.grabber.end(key);
    for (const c of this.tracker.endStream(key)) this.publish(c);
  }

  private publish(c: EventChange): void {
    if (c.type === 'start') this.started.set(c.event.kind, (this.started.get(c.event.kind) ?? 0) + 1);
    this.writer.enqueue({ op: 'upsert', event: c.event }, c.type !== 'update');
    c.event.snapshot = this.written.get(c.event.id) ?? null;
    if (c.type === 'end') this.finishSnapshot(c.event);
    this.emit('change', c);
  }

  /** The frame of detections `d` is event `e`'s best moment so far: copy it, encode once it settles. */
  private keepBestFrame(e: EventRecord, d: DetectionsEvent): void {
    // No tap, no frame will come (a stream that ended, or detections fed without a pipeline).
    if (!this.grabber.has(d.streamKey)) return;
    let frame: Promise<GrabbedFrame>;
    if (this.config.snapshots.source === 'input') {
      const f = this.grabber.lastInput(d.streamKey);
      if (!f) return;
      frame = Promise.resolve(f);
    } else {
      frame = this.grabber.nextOutput(d.streamKey, d.frameIndex);
    }
    frame.catch(() => {});
    const previous = this.best.get(e.id);
    clearTimeout(previous?.timer);
    const best: BestFrame = { frame, event: e };
    best.timer = setTimeout(() => this.encodeBest(e.id), SNAPSHOT_SETTLE_MS);
    best.timer.unref();
    this.best.set(e.id, best);
  }

  /** An event ended: encode its best frame now if it has one waiting, then forget the event. */
  private finishSnapshot(e: EventRecord): void {
    const pending = this.best.get(e.id);
    if (pending) {
      clearTimeout(pending.timer);
      pending.event = { ...pending.event, endMs: e.endMs, endReason: e.endReason };
      this.encodeBest(e.id);
    }
    const done = this.encoding.get(e.id) ?? Promise.resolve();
    void done.then(() => this.written.delete(e.id));
  }

  private encodeBest(id: string): void {
    const best = this.best.get(id);
    if (!best) return;
    this.best.delete(id);
    // One encode per event at a time; a newer best frame waits for the one running.
    const run = (this.encoding.get(id) ?? Promise.resolve()).then(() => this.encode(best));
    this.encoding.set(id, run);
    void run.finally(() => { if (this.encoding.get(id) === run) this.encoding.delete(id); });
  }

  private async encode(best: BestFrame): Promise<void> {
    const e = best.event;
    try {
      const frame = await best.frame;
      const rel = snapshotFile(e);
      const path = join(this.snapshotsDir, rel);
      const crop = this.config.snapshots.source === 'input' ? grow(e.box, INPUT_CROP_MARGIN) : undefined;
      const result = await this.snapshots.encode({
        yuv: frame.yuv.buffer as ArrayBuffer, width: frame.width, height: frame.height, crop,
        quality: this.config.snapshots.jpegQuality, path,
      });
      if (result.writeError) {
        this.keepUnwritten({ event: e, rel, path, jpeg: result.jpeg!, width: result.width, height: result.height });
        this.snapshotFailed(result.writeError);
        return;
      }
      this.unwrittenBytes -= this.unwritten.get(e.id)?.jpeg.byteLength ?? 0;
      this.unwritten.delete(e.id);
      this.snapshotWritten(e, rel, result.bytes);
    } catch (err) {
      // The stream ended before its frame came, or the pool is closing: nothing to keep.
      if ((err as MediaServerError).code === 'ERR_STREAM_NOT_FOUND' || this.closed) return;
      this.snapshotFailed(err);
    }
  }

  /** snapshotWritten records a snapshot file that exists now: in the store, and on the live feed while the event lasts. */
  private snapshotWritten(e: EventRecord, rel: string, bytes: number): void {
    this.snapshotBytesTotal += bytes;
    this.snapshotsRecovered();
    const snapshot = { path: rel, bytes };
    this.writer.enqueue({ op: 'snapshot', id: e.id, path: rel, bytes });
    if (this.tracker.isOpen(e.id)) {
      this.written.set(e.id, snapshot);
      const current = this.tracker.open(e.streamKey).find((o) => o.id === e.id);
      if (current) this.emit('change', { type: 'update', event: { ...current, snapshot } });
    }
  }

  /** keepUnwritten holds an encoded snapshot for a retry (the event's newest replaces its older one; the oldest go beyond the bound). */
  private keepUnwritten(u: UnwrittenSnapshot): void {
    const previous = this.unwritten.get(u.event.id);
    if (previous) this.unwrittenBytes -= previous.jpeg.byteLength;
    this.unwritten.delete(u.event.id);
    this.unwritten.set(u.event.id, u);
    this.unwrittenBytes += u.jpeg.byteLength;
    for (const [id, old] of this.unwritten) {
      if (this.unwrittenBytes <= SNAPSHOT_MAX_UNWRITTEN_BYTES || id === u.event.id) break;
      this.unwritten.delete(id);
      this.unwrittenBytes -= old.jpeg.byteLength;
      this.log.warn({ event: id, maxBytes: SNAPSHOT_MAX_UNWRITTEN_BYTES }, 'an unwritten snapshot was dropped: too many wait for room on the data folder');
    }
  }

  /**
   * retryUnwritten writes the kept snapshots again, oldest first, each in its event's encode chain
   * (a newer best frame is never overwritten by an older one); it stops at the first that still fails.
   */
  private retryUnwritten(): Promise<void> {
    if (this.unwritten.size === 0 || this.closed) return Promise.resolve();
    this.retrying ??= (async () => {
      for (const [id, u] of [...this.unwritten]) {
        let failed = false;
        const run = (this.encoding.get(id) ?? Promise.resolve()).then(async () => {
          if (this.unwritten.get(id) !== u) return;
          const result = await this.snapshots.encode({ jpeg: u.jpeg, width: u.width, height: u.height, quality: this.config.snapshots.jpegQuality, path: u.path });
          if (result.writeError) {
            failed = true;
            this.snapshotFailed(result.writeError);
            return;
          }
          this.unwritten.delete(id);
          this.unwrittenBytes -= u.jpeg.byteLength;
          this.snapshotWritten(u.event, u.rel, result.bytes);
        }).catch((err) => { failed = true; if (!this.closed) this.snapshotFailed(err); });
        this.encoding.set(id, run);
        void run.finally(() => { if (this.encoding.get(id) === run) this.encoding.delete(id); });
        await run;
        if (failed) return;
      }
      this.snapshotsRecovered();
    })().finally(() => { this.retrying = undefined; });
    return this.retrying;
  }

  /** snapshotsRecovered ends a failing episode once a file was written and none waits: logged once. */
  private snapshotsRecovered(): void {
    if (this.unwritten.size > 0 || this.snapshotsFailing === undefined) return;
    this.log.warn({ cause: this.snapshotsFailing }, 'snapshot writes resumed');
    this.snapshotsFailing = undefined;
    this.loggedSnapshotCauses.clear();
  }

  private snapshotFailed(err: unknown): void {
    this.snapshotErrors += 1;
    const cause = writeErrorCause(err);
    this.snapshotsFailing = cause;
    if (this.loggedSnapshotCauses.has(cause)) return;
    this.loggedSnapshotCauses.add(cause);
    this.log.error({ code: 'ERR_SNAPSHOT_WRITE', cause, err: (err as Error).message, unwritten: this.unwritten.size },
      'writing a snapshot failed; it is kept in memory and written again once the data folder takes it');
  }

  /** currentSnapshot encodes the stream's next processed frame as a JPEG (not kept). Rejects like FrameGrabber.nextOutput. */
  async currentSnapshot(streamKey: string): Promise<Uint8Array> {
    const frame = await this.grabber.nextOutput(streamKey, 0, 3000);
    const result = await this.snapshots.encode({ yuv: frame.yuv.buffer as ArrayBuffer, width: frame.width, height: frame.height, quality: this.config.snapshots.jpegQuality });
    return result.jpeg!;
  }

  private keepPeriodicFrames(): void {
    for (const s of this.registry.list()) {
      if (s.state !== 'live') continue;
      const now = new Date();
      const rel = `${s.key}/${now.toISOString().slice(0, 10)}/frame-${now.toISOString().replace(/[:.]/g, '-')}.jpg`;
      this.grabber.nextOutput(s.key, 0, 3000)
        .then((f) => this.snapshots.encode({ yuv: f.yuv.buffer as ArrayBuffer, width: f.width, height: f.height, quality: this.config.snapshots.jpegQuality, path: join(this.snapshotsDir, rel) }))
        // A periodic frame that can not be written is counted and logged, not kept: the next one comes anyway.
        .then((r) => {
          if (r.writeError) return this.snapshotFailed(r.writeError);
          this.snapshotBytesTotal += r.bytes;
          this.snapshotsRecovered();
        })
        .catch((err) => { if ((err as MediaServerError).code !== 'ERR_STREAM_NOT_FOUND' && !this.closed) this.snapshotFailed(err); });
    }
  }

  // --- reads (the routes)

  private ensureAvailable(): void {
    if (!this.writer.isOpen) throw new MediaServerError('ERR_EVENT_STORE_UNAVAILABLE', 'http', 'the event store is not open (see the server log)');
  }

  /**
   * read runs a read of the store; a store that fails it (PostgreSQL down, a locked file) is
   * reported as unavailable with the driver's cause, not as a fault of the request.
   * @throws MediaServerError `ERR_EVENT_STORE_UNAVAILABLE`.
   */
  private async read<T>(work: () => Promise<T>): Promise<T> {
    this.ensureAvailable();
    try {
      return await work();
    } catch (err) {
      throw new MediaServerError('ERR_EVENT_STORE_UNAVAILABLE', 'http', `the event store does not answer (${writeErrorCause(err)}): ${(err as Error).message}`, { cause: err });
    }
  }

  /** query pages events, newest first. @throws MediaServerError `ERR_EVENT_STORE_UNAVAILABLE`. */
  async query(q: EventQuery): Promise<EventPage> {
    return this.read(() => this.store.query(q));
  }

  /** get returns one event: an open one as the tracker has it now. @throws `ERR_EVENT_STORE_UNAVAILABLE`. */
  async get(id: string): Promise<EventRecord | undefined> {
    const stored = await this.read(() => this.store.get(id));
    const live = this.tracker.isOpen(id) ? this.tracker.open().find((e) => e.id === id) : undefined;
    if (live) return { ...live, snapshot: this.written.get(id) ?? stored?.snapshot ?? null };
    return stored;
  }

  /**
   * openEventNodes lists the nodes that have open events in the store (this one included).
   * @throws MediaServerError `ERR_EVENT_STORE_UNAVAILABLE`; rejects with the store's error.
   */
  async openEventNodes(): Promise<string[]> {
    this.ensureAvailable();
    return this.store.openEventNodes();
  }

  /**
   * closeLostNodeEvents ends the open events of node `nodeId`, which is gone from the cluster, as
   * `node_lost` at their last sighting; each closed here is counted and sent to the live feed as
   * an `end` (an event another survivor closed at the same moment is not). Never this node's own:
   * its tracker owns them.
   * @returns how many events this call closed.
   * @throws MediaServerError `ERR_EVENT_STORE_UNAVAILABLE`; rejects with the store's error.
   */
  async closeLostNodeEvents(nodeId: string): Promise<number> {
    this.ensureAvailable();
    if (nodeId === this.nodeId) throw new Error(`node ${nodeId} is this node: its open events are its tracker's`);
    const closed = await this.store.closeNodeEvents(nodeId, 'node_lost');
    this.nodeLostTotal += closed.length;
    for (const event of closed) this.emit('change', { type: 'end', event });
    return closed.length;
  }

  /** snapshotPath is the absolute file of a stored snapshot path, checked to stay inside the snapshots folder. */
  snapshotPath(rel: string): string | undefined {
    const full = resolve(this.snapshotsDir, rel);
    return full.startsWith(this.snapshotsDir + sep) ? full : undefined;
  }

  /**
   * delete removes an ended event and its snapshot file.
   * @throws MediaServerError `ERR_EVENT_OPEN` (it still lasts), `ERR_EVENT_STORE_UNAVAILABLE`.
   */
  async delete(id: string): Promise<EventRecord | undefined> {
    this.ensureAvailable();
    if (this.tracker.isOpen(id)) throw new MediaServerError('ERR_EVENT_OPEN', 'http', `event ${id} has not ended yet`);
    await this.encoding.get(id);
    this.unwrittenBytes -= this.unwritten.get(id)?.jpeg.byteLength ?? 0;
    this.unwritten.delete(id);
    await this.writer.flush();
    const deleted = await this.store.delete(id);
    const file = deleted?.snapshot && this.snapshotPath(deleted.snapshot.path);
    if (file) await rm(file, { force: true });
    return deleted;
  }

  /** applyRetention deletes events (and snapshots, periodic frames too) past `events.retentionDays` or `events.maxBytes`. */
  async applyRetention(now = Date.now()): Promise<void> {
    if (!this.writer.isOpen || this.closed) return;
    const startedBeforeMs = now - this.config.events.retentionDays * DAY_MS;
    try {
      const result = await this.store.applyRetention({ startedBeforeMs, maxBytes: this.config.events.maxBytes });
      for (const rel of result.snapshotPaths) {
        const file = this.snapshotPath(rel);
        if (file) await rm(file, { force: true });
      }
      await this.removeOldFrames(new Date(startedBeforeMs).toISOString().slice(0, 10));
      if (result.deleted > 0) this.log.info({ deleted: result.deleted }, 'event retention: old events deleted');
    } catch (err) {
      this.log.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, 'event retention failed; tried again later');
    }
  }

  /** removeOldFrames deletes periodic frames of days before `cutDate` (YYYY-MM-DD), and day folders left empty. */
  private async removeOldFrames(cutDate: string): Promise<void> {
    const keys = await readdir(this.snapshotsDir).catch(() => [] as string[]);
    for (const key of keys) {
      const days = await readdir(join(this.snapshotsDir, key)).catch(() => [] as string[]);
      for (const day of days.filter((d) => d < cutDate)) {
        const dir = join(this.snapshotsDir, key, day);
        const files = await readdir(dir).catch(() => [] as string[]);
        for (const f of files.filter((n) => n.startsWith('frame-'))) await rm(join(dir, f), { force: true });
        await rmdir(dir).catch(() => {});
      }
    }
  }

  /**
   * close ends open events (`stream_ended`: the registry has stopped the streams by then), waits
   * for their snapshots, writes what is queued and closes the store.
   */
  async close(): Promise<void> {
    this.registry.off('detections', this.onDetections);
    this.registry.off('streamEnded', this.onStreamEnded);
    for (const c of this.tracker.endAll('stream_ended')) this.publish(c);
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.encoding.values()]);
    await this.retryUnwritten();
    this.closed = true;
    this.grabber.close();
    await this.writer.close();
    await this.snapshots.close();
    await this.store.close();
  }
}

/**
 * eventHealthReport words EventHealth for `/healthz` (the shape of mediaHealthReport): `events`
 * always, and `status: 'degraded'` with `problems` (sentences) while the store can not be opened
 * or written, or snapshot files can not be written.
 */
export function eventHealthReport(h: EventHealth): Record<string, unknown> {
  const problems: string[] = [];
  if (!h.storeOpen) problems.push(`event store can not be opened (${h.storeFailing ?? 'opening'}): ${h.queued} writes kept in memory`);
  else if (h.storeFailing) problems.push(`event store writes failing (${h.storeFailing}): ${h.queued} writes kept in memory`);
  if (h.snapshotsFailing) problems.push(`snapshot files can not be written (${h.snapshotsFailing}): ${h.unwrittenSnapshots} kept in memory`);
  const events = { storeOpen: h.storeOpen, writing: !h.storeFailing && !h.snapshotsFailing, queued: h.queued, unwrittenSnapshots: h.unwrittenSnapshots, writeErrors: h.writeErrors };
  return problems.length ? { status: 'degraded', problems, events } : { events };
}

/** grow widens a box by `margin` of its size on each side. */
function grow(box: EventRecord['box'], margin: number): EventRecord['box'] {
  return { x: box.x - box.width * margin, y: box.y - box.height * margin, width: box.width * (1 + 2 * margin), height: box.height * (1 + 2 * margin) };
}
