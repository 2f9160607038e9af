/**
 * The SQLite event store (better-sqlite3): one file, `<dataDir>/events.sqlite`, in WAL mode
 * (readers never wait for the writer; synchronous=NORMAL: a killed process loses nothing
 * committed, a power cut may lose the last transactions). better-sqlite3 is synchronous: every call
 * runs on the calling thread, so the writer batches (one short transaction per flush) and the busy
 * timeout is short, a locked file is reported (`SQLITE_BUSY`) instead of stalling the thread.
 */
import Database from 'better-sqlite3';
import { type EndReason, type EventKind, type EventRecord } from './event-record.ts';
import type { EventPage, EventQuery, EventStore, EventWrite, RetentionLimits, RetentionResult } from './event-store.ts';
import { lowestIdAt } from './event-id.ts';
import { MIGRATIONS, type Migration } from './sqlite-migrations.ts';

/** EVENTS_DB_FILE is the database's file name inside the data folder. */
export const EVENTS_DB_FILE = 'events.sqlite';

/** SqliteEventStoreOptions say where and how. */
export interface SqliteEventStoreOptions {
  /** Database file path (`:memory:` for tests that need no file). */
  path: string;
  /** How long a write waits for a lock held by another connection, ms (default 50). */
  busyTimeoutMs?: number;
  /** Migrations to run (default MIGRATIONS; tests add later versions). */
  migrations?: readonly Migration[];
}

interface Row {
  id: string; stream_key: string; kind: string; label: string | null; track_id: number;
  start_ms: number; end_ms: number | null; end_reason: string | null;
  first_pts_ms: number; last_pts_ms: number; last_seen_ms: number; frame_count: number;
  top_score: number; top_pts_ms: number;
  box_x: number; box_y: number; box_width: number; box_height: number;
  rel_x: number; rel_y: number; rel_width: number; rel_height: number;
  frame_width: number; frame_height: number; snapshot_path: string | null; snapshot_bytes: number;
}

function toRecord(r: Row): EventRecord {
  return {
    id: r.id, streamKey: r.stream_key, kind: r.kind as EventKind, label: r.label, trackId: r.track_id,
    startMs: r.start_ms, endMs: r.end_ms, endReason: r.end_reason as EndReason | null,
    firstPtsMs: r.first_pts_ms, lastPtsMs: r.last_pts_ms, lastSeenMs: r.last_seen_ms, frameCount: r.frame_count,
    topScore: r.top_score, topPtsMs: r.top_pts_ms,
    box: { x: r.box_x, y: r.box_y, width: r.box_width, height: r.box_height },
    boxRelative: { x: r.rel_x, y: r.rel_y, width: r.rel_width, height: r.rel_height },
    frameWidth: r.frame_width, frameHeight: r.frame_height,
    snapshot: r.snapshot_path === null ? null : { path: r.snapshot_path, bytes: r.snapshot_bytes },
  };
}

function toParams(e: EventRecord): Row {
  return {
    id: e.id, stream_key: e.streamKey, kind: e.kind, label: e.label, track_id: e.trackId,
    start_ms: e.startMs, end_ms: e.endMs, end_reason: e.endReason,
    first_pts_ms: e.firstPtsMs, last_pts_ms: e.lastPtsMs, last_seen_ms: e.lastSeenMs, frame_count: e.frameCount,
    top_score: e.topScore, top_pts_ms: e.topPtsMs,
    box_x: e.box.x, box_y: e.box.y, box_width: e.box.width, box_height: e.box.height,
    rel_x: e.boxRelative.x, rel_y: e.boxRelative.y, rel_width: e.boxRelative.width, rel_height: e.boxRelative.height,
    frame_width: e.frameWidth, frame_height: e.frameHeight,
    snapshot_path: e.snapshot?.path ?? null, snapshot_bytes: e.snapshot?.bytes ?? 0,
  };
}

const COLUMNS = Object.keys(toParams({
  id: '', streamKey: '', kind: 'face', label: null, trackId: 0, startMs: 0, endMs: null, endReason: null,
  firstPtsMs: 0, lastPtsMs: 0, lastSeenMs: 0, frameCount: 0, topScore: 0, topPtsMs: 0,
  box: { x: 0, y: 0, width: 0, height: 0 }, boxRelative: { x: 0, y: 0, width: 0, height: 0 },
  frameWidth: 0, frameHeight: 0, snapshot: null,
}));
// The snapshot is written after its event: an upsert that carries none keeps the one there is.
const UPSERT_SQL = `INSERT INTO events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})
  ON CONFLICT (id) DO UPDATE SET ${COLUMNS.filter((c) => c !== 'id' && !c.startsWith('snapshot_')).map((c) => `${c} = excluded.${c}`).join(', ')},
  snapshot_path = COALESCE(excluded.snapshot_path, events.snapshot_path),
  snapshot_bytes = CASE WHEN excluded.snapshot_path IS NULL THEN events.snapshot_bytes ELSE excluded.snapshot_bytes END`;

/** ROW_BYTES is about what one event row and its index entries take in the file. */
const ROW_BYTES = 400;

/** SqliteEventStore is the default EventStore. */
export class SqliteEventStore implements EventStore {
  private db?: Database.Database;
  private statements?: {
    upsert: Database.Statement;
    snapshot: Database.Statement;
    get: Database.Statement;
    delete: Database.Statement;
  };

  /** Prepared page queries by SQL text (one per combination of filters: at most 2^7). */
  private readonly queries = new Map<string, Database.Statement>();

  constructor(private readonly options: SqliteEventStoreOptions) {}

  /** schemaVersion is the highest migration applied (0 before open). */
  get schemaVersion(): number {
    if (!this.db) return 0;
    return (this.db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
  }

  async open(): Promise<{ closedOnRestart: number }> {
    if (this.db) throw new Error('the event store is open already');
    const db = new Database(this.options.path, { timeout: this.options.busyTimeoutMs ?? 50 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      this.migrate(db);
      const closed = db.prepare(`UPDATE events SET end_ms = last_seen_ms, end_reason = 'server_restart' WHERE end_ms IS NULL`).run();
      this.db = db;
      this.statements = {
        upsert: db.prepare(UPSERT_SQL),
        snapshot: db.prepare('UPDATE events SET snapshot_path = @path, snapshot_bytes = @bytes WHERE id = @id'),
        get: db.prepare('SELECT * FROM events WHERE id = ?'),
        delete: db.prepare('DELETE FROM events WHERE id = ?'),
      };
      return { closedOnRestart: closed.changes };
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private migrate(db: Database.Database): void {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_ms INTEGER NOT NULL)');
    const current = (db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
    const record = db.prepare('INSERT INTO schema_version (version, description, applied_ms) VALUES (?, ?, ?)');
    for (const m of this.options.migrations ?? MIGRATIONS) {
      if (m.version <= current) continue;
      db.transaction(() => {
        db.exec(m.sql);
        record.run(m.version, m.description, Date.now());
      })();
    }
  }

  private get open_(): { db: Database.Database; statements: NonNullable<SqliteEventStore['statements']> } {
    if (!this.db || !this.statements) throw Object.assign(new Error('the event store is not open'), { code: 'ERR_EVENT_STORE_CLOSED' });
    return { db: this.db, statements: this.statements };
  }

  async writeBatch(writes: readonly EventWrite[]): Promise<void> {
    const { db, statements } = this.open_;
    db.transaction(() => {
      for (const w of writes) {
        if (w.op === 'upsert') statements.upsert.run(toParams(w.event));
        else statements.snapshot.run({ id: w.id, path: w.path, bytes: w.bytes });
      }
    })();
  }

  async get(id: string): Promise<EventRecord | undefined> {
    const row = this.open_.statements.get.get(id) as Row | undefined;
    return row && toRecord(row);
  }

  async query(q: EventQuery): Promise<EventPage> {
    const { db } = this.open_;
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (q.streamKey !== undefined) { where.push('stream_key = @stream'); params.stream = q.streamKey; }
    if (q.kind !== undefined) { where.push('kind = @kind'); params.kind = q.kind; }
    if (q.label !== undefined) { where.push('label = @label'); params.label = q.label; }
    if (q.afterMs !== undefined) { where.push('id >= @after'); params.after = lowestIdAt(q.afterMs); }
    if (q.beforeMs !== undefined) { where.push('id < @before'); params.before = lowestIdAt(q.beforeMs); }
    if (q.cursor !== undefined) { where.push('id < @cursor'); params.cursor = q.cursor; }
    if (q.minScore !== undefined) { where.push('top_score >= @minScore'); params.minScore = q.minScore; }
    params.limit = q.limit + 1;
    // The page's ids first, from an index alone where one holds every filtered column (the
    // filters are checked in the index, not on each row looked up: a WITHOUT ROWID table can not
    // defer that lookup); then only the page's rows are read.
    const sql = `SELECT * FROM events WHERE id IN (SELECT id FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit) ORDER BY id DESC`;
    let statement = this.queries.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      this.queries.set(sql, statement);
    }
    const rows = statement.all(params) as Row[];
    const more = rows.length > q.limit;
    const events = rows.slice(0, q.limit).map(toRecord);
    return { events, nextCursor: more ? events[events.length - 1]!.id : null };
  }

  async delete(id: string): Promise<EventRecord | undefined> {
    const { db, statements } = this.open_;
    return db.transaction(() => {
      const row = statements.get.get(id) as Row | undefined;
      if (row) statements.delete.run(id);
      return row && toRecord(row);
    })();
  }

  async sizeBytes(): Promise<number> {
    const { db } = this.open_;
    const pages = (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
    const snapshots = (db.prepare('SELECT COALESCE(SUM(snapshot_bytes), 0) AS b FROM events').get() as { b: number }).b;
    return pages * (db.pragma('page_size', { simple: true }) as number) + snapshots;
  }

  async applyRetention(limits: RetentionLimits): Promise<RetentionResult> {
    const { db } = this.open_;
    const result: RetentionResult = { deleted: 0, snapshotPaths: [] };
    const take = (rows: { id: string; snapshot_path: string | null }[]) => {
      const del = db.prepare('DELETE FROM events WHERE id = ?');
      db.transaction(() => { for (const r of rows) del.run(r.id); })();
      result.deleted += rows.length;
      for (const r of rows) if (r.snapshot_path) result.snapshotPaths.push(r.snapshot_path);
    };
    const oldest = db.prepare('SELECT id, snapshot_path FROM events WHERE end_ms IS NOT NULL AND id < ? ORDER BY id LIMIT 500');
    for (;;) {
      const rows = oldest.all(lowestIdAt(limits.startedBeforeMs)) as { id: string; snapshot_path: string | null }[];
      if (rows.length === 0) break;
      take(rows);
    }
    if (limits.maxBytes > 0) {
      const ended = db.prepare('SELECT id, snapshot_path, snapshot_bytes FROM events WHERE end_ms IS NOT NULL ORDER BY id LIMIT 500');
      for (;;) {
        const over = (await this.sizeBytes()) - limits.maxBytes;
        if (over <= 0) break;
        const rows = ended.all() as { id: string; snapshot_path: string | null; snapshot_bytes: number }[];
        if (rows.length === 0) break;
        // Oldest first until their snapshots and rows (ROW_BYTES each, an estimate) cover the excess;
        // the size is measured again after each step.
        let freed = 0;
        let n = 0;
        while (n < rows.length && freed < over) freed += rows[n++]!.snapshot_bytes + ROW_BYTES;
        take(rows.slice(0, n));
      }
    }
    return result;
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.statements = undefined;
    this.queries.clear();
    db?.close();
  }
}
