/**
 * The SQLite event store (better-sqlite3): one file, `<dataDir>/events.sqlite`, in WAL mode
 * (readers never wait for the writer; synchronous=NORMAL: a killed process loses nothing
 * committed, a power cut may lose the last transactions). better-sqlite3 is synchronous: every call
 * runs on the calling thread, so the writer batches (one short transaction per flush) and the busy
 * timeout is short, a locked file is reported (`SQLITE_BUSY`) instead of stalling the thread.
 */
import Database from 'better-sqlite3';
import type { EndReason, EventRecord } from './event-record.ts';
import type { EventPage, EventQuery, EventStore, EventWrite, RetentionLimits, RetentionResult } from './event-store.ts';
import { lowestIdAt } from './event-id.ts';
import { MIGRATIONS, type Migration } from './sqlite-migrations.ts';
import { EVENT_COLUMNS, ROW_BYTES, UPSERT_SET, eventQuerySql, toPage, toRecord, toRow, type EventRow as Row } from './event-rows.ts';

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
  /** The node this file belongs to: every event in it is this node's (default `local`). */
  nodeId?: string;
}

const UPSERT_SQL = `INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map((c) => `@${c}`).join(', ')})
  ON CONFLICT (id) DO UPDATE SET ${UPSERT_SET}`;

/** SqliteEventStore is the default EventStore. */
export class SqliteEventStore implements EventStore {
  private db?: Database.Database;
  private statements?: {
    upsert: Database.Statement;
    snapshot: Database.Statement;
    get: Database.Statement;
    delete: Database.Statement;
    close: Database.Statement;
  };

  /** Prepared page queries by SQL text (one per combination of filters: at most 2^7). */
  private readonly queries = new Map<string, Database.Statement>();

  private readonly nodeId: string;

  constructor(private readonly options: SqliteEventStoreOptions) {
    this.nodeId = options.nodeId ?? 'local';
  }

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
      const close = db.prepare('UPDATE events SET end_ms = last_seen_ms, end_reason = ? WHERE end_ms IS NULL RETURNING *');
      const closed = close.all('server_restart').length;
      this.db = db;
      this.statements = {
        upsert: db.prepare(UPSERT_SQL),
        snapshot: db.prepare('UPDATE events SET snapshot_path = @path, snapshot_bytes = @bytes WHERE id = @id'),
        get: db.prepare('SELECT * FROM events WHERE id = ?'),
        delete: db.prepare('DELETE FROM events WHERE id = ?'),
        close,
      };
      return { closedOnRestart: closed };
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
        if (w.op === 'upsert') statements.upsert.run(toRow(w.event));
        else statements.snapshot.run({ id: w.id, path: w.path, bytes: w.bytes });
      }
    })();
  }

  async get(id: string): Promise<EventRecord | undefined> {
    const row = this.open_.statements.get.get(id) as Row | undefined;
    return row && toRecord(row);
  }

  async query(q: EventQuery): Promise<EventPage> {
    const { sql, values } = eventQuerySql(q);
    let statement = this.queries.get(sql);
    if (!statement) {
      statement = this.open_.db.prepare(sql);
      this.queries.set(sql, statement);
    }
    return toPage(statement.all(...values) as Row[], q.limit);
  }

  async delete(id: string): Promise<EventRecord | undefined> {
    const { db, statements } = this.open_;
    return db.transaction(() => {
      const row = statements.get.get(id) as Row | undefined;
      if (row) statements.delete.run(id);
      return row && toRecord(row);
    })();
  }

  async openEventNodes(): Promise<string[]> {
    const open = this.open_.db.prepare('SELECT 1 FROM events WHERE end_ms IS NULL LIMIT 1').get();
    return open ? [this.nodeId] : [];
  }

  async closeNodeEvents(nodeId: string, reason: EndReason): Promise<EventRecord[]> {
    const { statements } = this.open_;
    if (nodeId !== this.nodeId) return [];
    return (statements.close.all(reason) as Row[]).map(toRecord).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async relabel(from: string, to: string | null): Promise<number> {
    return this.open_.db.prepare('UPDATE events SET label = ?, label_score = CASE WHEN ? IS NULL THEN NULL ELSE label_score END WHERE label = ?').run(to, to, from).changes;
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
