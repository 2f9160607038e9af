/**
 * The PostgreSQL event store (the `pg` driver): the events of every node of a cluster in one
 * database, the same EventStore as the SQLite default. Each event row carries the node that wrote
 * it, so a node that starts again closes only the events it left open itself (`server_restart`),
 * not those of the nodes still running. Migrations take an advisory lock, so nodes starting at
 * once do not race. Writes go through a small pool; a batch is one transaction.
 */
import pg from 'pg';
import type { EndReason, EventRecord } from './event-record.ts';
import type { EventPage, EventQuery, EventStore, EventWrite, RetentionLimits, RetentionResult } from './event-store.ts';
import { lowestIdAt } from './event-id.ts';
import { EVENT_COLUMNS, ROW_BYTES, UPSERT_SET, eventQuerySql, toPage, toRecord, toRow, type EventRow } from './event-rows.ts';
import { applyPgMigrations, PG_MIGRATIONS } from './pg-migrations.ts';
import type { Migration } from './sqlite-migrations.ts';

/** PgEventStoreOptions say where and as whom. */
export interface PgEventStoreOptions {
  /** Connection URL, e.g. `postgres://user:password@db:5432/livematte`. */
  url: string;
  /** This node's id, written on every event it makes (default `local`). */
  nodeId?: string;
  /** Connections in the pool (default 4). */
  maxConnections?: number;
  /** How long a statement may run before PostgreSQL cancels it, ms (default 10,000). */
  statementTimeoutMs?: number;
  /** Migrations to run (default PG_MIGRATIONS; tests add later versions). */
  migrations?: readonly Migration[];
}

// BIGINT (oid 20) as a JS number: every ms and byte count here is far below 2^53.
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

// Two survivors sweeping one dead node at once: each takes the rows the other has not locked
// (SKIP LOCKED: no waiting, no deadlock), so each event is closed, and returned, by one of them.
// A row some other transaction holds is left for the next sweep.
const CLOSE_NODE_EVENTS_SQL = `WITH lost AS (SELECT id FROM events WHERE end_ms IS NULL AND node_id = $1 FOR UPDATE SKIP LOCKED)
  UPDATE events SET end_ms = last_seen_ms, end_reason = $2 FROM lost WHERE events.id = lost.id RETURNING events.*`;

/** toPositional turns `?` placeholders into PostgreSQL's `$1, $2, ...`. */
function toPositional(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** PgEventStore is the EventStore on PostgreSQL 15 or later. */
export class PgEventStore implements EventStore {
  private pool?: pg.Pool;
  private readonly nodeId: string;

  constructor(private readonly options: PgEventStoreOptions) {
    this.nodeId = options.nodeId ?? 'local';
  }

  async open(): Promise<{ closedOnRestart: number }> {
    if (this.pool) throw new Error('the event store is open already');
    const pool = new pg.Pool({
      connectionString: this.options.url, max: this.options.maxConnections ?? 4, types: TYPES,
      statement_timeout: this.options.statementTimeoutMs ?? 10_000, connectionTimeoutMillis: 5000,
    });
    // An idle connection that breaks (the server restarts) is dropped by the pool; without a
    // listener its error would be an uncaught exception.
    pool.on('error', () => {});
    try {
      await applyPgMigrations(pool, this.options.migrations ?? PG_MIGRATIONS);
      const closed = await pool.query(CLOSE_NODE_EVENTS_SQL, [this.nodeId, 'server_restart']);
      this.pool = pool;
      return { closedOnRestart: closed.rowCount ?? 0 };
    } catch (err) {
      await pool.end();
      throw err;
    }
  }

  /** schemaVersion is the highest migration applied. */
  async schemaVersion(): Promise<number> {
    const r = await this.open_.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
    return r.rows[0]!.v ?? 0;
  }

  private get open_(): pg.Pool {
    if (!this.pool) throw Object.assign(new Error('the event store is not open'), { code: 'ERR_EVENT_STORE_CLOSED' });
    return this.pool;
  }

  async writeBatch(writes: readonly EventWrite[]): Promise<void> {
    const client = await this.open_.connect();
    try {
      await client.query('BEGIN');
      // Runs of upserts go in as one statement (one row per event: the last upsert of an event wins,
      // with the last snapshot any of them carried, as applying them one by one would give);
      // snapshots in between as one UPDATE each run, so the order of the batch holds.
      for (const run of runs(writes)) {
        if (run.op === 'upsert') {
          const rows = mergeUpserts(run.writes.map((w) => w.event)).map((e) => ({ ...toRow(e), node_id: this.nodeId }));
          await client.query(
            `INSERT INTO events (node_id, ${EVENT_COLUMNS.join(', ')})
             SELECT node_id, ${EVENT_COLUMNS.join(', ')} FROM json_populate_recordset(NULL::events, $1::json)
             ON CONFLICT (id) DO UPDATE SET ${UPSERT_SET}`, [JSON.stringify(rows)]);
        } else {
          await client.query(
            `UPDATE events SET snapshot_path = s.path, snapshot_bytes = s.bytes
             FROM json_to_recordset($1::json) AS s(id TEXT, path TEXT, bytes BIGINT) WHERE events.id = s.id`,
            [JSON.stringify(lastPerId(run.writes))]);
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async relabel(from: string, to: string | null): Promise<number> {
    // Every node's events: a person forgotten is forgotten across the cluster.
    return (await this.open_.query('UPDATE events SET label = $1::text, label_score = CASE WHEN $1::text IS NULL THEN NULL ELSE label_score END WHERE label = $2', [to, from])).rowCount ?? 0;
  }

  async openEventNodes(): Promise<string[]> {
    // The partial index events_open (node_id, id) WHERE end_ms IS NULL holds exactly these rows.
    const r = await this.open_.query<{ node_id: string }>('SELECT DISTINCT node_id FROM events WHERE end_ms IS NULL ORDER BY node_id');
    return r.rows.map((x) => x.node_id);
  }

  async closeNodeEvents(nodeId: string, reason: EndReason): Promise<EventRecord[]> {
    const r = await this.open_.query<EventRow>(CLOSE_NODE_EVENTS_SQL, [nodeId, reason]);
    return r.rows.map(toRecord).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async get(id: string): Promise<EventRecord | undefined> {
    const r = await this.open_.query<EventRow>('SELECT * FROM events WHERE id = $1', [id]);
    return r.rows[0] && toRecord(r.rows[0]);
  }

  async query(q: EventQuery): Promise<EventPage> {
    const { sql, values } = eventQuerySql(q);
    const r = await this.open_.query<EventRow>(toPositional(sql), values);
    return toPage(r.rows, q.limit);
  }

  async delete(id: string): Promise<EventRecord | undefined> {
    const r = await this.open_.query<EventRow>('DELETE FROM events WHERE id = $1 RETURNING *', [id]);
    return r.rows[0] && toRecord(r.rows[0]);
  }

  /**
   * sizeBytes is ROW_BYTES per event plus the snapshot bytes: an estimate, as the table's files on
   * the database server do not shrink when rows go (until a VACUUM FULL), and what a node bounds is
   * mostly its snapshots.
   */
  async sizeBytes(): Promise<number> {
    const r = await this.open_.query<{ n: number; b: number }>('SELECT COUNT(*)::BIGINT AS n, COALESCE(SUM(snapshot_bytes), 0)::BIGINT AS b FROM events');
    return r.rows[0]!.n * ROW_BYTES + r.rows[0]!.b;
  }

  async applyRetention(limits: RetentionLimits): Promise<RetentionResult> {
    const pool = this.open_;
    const result: RetentionResult = { deleted: 0, snapshotPaths: [] };
    const take = async (ids: string[], paths: (string | null)[]) => {
      await pool.query('DELETE FROM events WHERE id = ANY($1::text[])', [ids]);
      result.deleted += ids.length;
      for (const p of paths) if (p) result.snapshotPaths.push(p);
    };
    for (;;) {
      const r = await pool.query<{ id: string; snapshot_path: string | null }>(
        'SELECT id, snapshot_path FROM events WHERE end_ms IS NOT NULL AND id < $1 ORDER BY id LIMIT 500', [lowestIdAt(limits.startedBeforeMs)]);
      if (r.rows.length === 0) break;
      await take(r.rows.map((x) => x.id), r.rows.map((x) => x.snapshot_path));
    }
    if (limits.maxBytes > 0) {
      for (;;) {
        const over = (await this.sizeBytes()) - limits.maxBytes;
        if (over <= 0) break;
        const r = await pool.query<{ id: string; snapshot_path: string | null; snapshot_bytes: number }>(
          'SELECT id, snapshot_path, snapshot_bytes FROM events WHERE end_ms IS NOT NULL ORDER BY id LIMIT 500');
        if (r.rows.length === 0) break;
        let freed = 0;
        let n = 0;
        while (n < r.rows.length && freed < over) freed += r.rows[n++]!.snapshot_bytes + ROW_BYTES;
        const rows = r.rows.slice(0, n);
        await take(rows.map((x) => x.id), rows.map((x) => x.snapshot_path));
      }
    }
    return result;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }
}

type UpsertWrite = Extract<EventWrite, { op: 'upsert' }>;
type SnapshotWrite = Extract<EventWrite, { op: 'snapshot' }>;
type Run = { op: 'upsert'; writes: UpsertWrite[] } | { op: 'snapshot'; writes: SnapshotWrite[] };

/** runs splits a batch into consecutive writes of one kind, in order. */
function runs(writes: readonly EventWrite[]): Run[] {
  const out: Run[] = [];
  for (const w of writes) {
    const last = out.at(-1);
    if (last && last.op === w.op) (last.writes as EventWrite[]).push(w);
    else out.push(w.op === 'upsert' ? { op: 'upsert', writes: [w] } : { op: 'snapshot', writes: [w] });
  }
  return out;
}

/** mergeUpserts keeps one event per id: the last, with the last snapshot any of them carried. */
function mergeUpserts(events: readonly EventRecord[]): EventRecord[] {
  const byId = new Map<string, EventRecord>();
  for (const e of events) {
    const before = byId.get(e.id);
    byId.set(e.id, e.snapshot === null && before ? { ...e, snapshot: before.snapshot } : e);
  }
  return [...byId.values()];
}

/** lastPerId keeps the last snapshot write of each event. */
function lastPerId(writes: readonly SnapshotWrite[]): { id: string; path: string; bytes: number }[] {
  const byId = new Map<string, SnapshotWrite>();
  for (const w of writes) byId.set(w.id, w);
  return [...byId.values()].map(({ id, path, bytes }) => ({ id, path, bytes }));
}
