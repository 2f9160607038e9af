/**
 * What the SQL event stores share: the `events` row (snake_case columns, the same in SQLite and
 * PostgreSQL), its mapping to and from EventRecord, and the query API's filter as SQL with `?`
 * placeholders (each store binds them its own way).
 */
import type { EndReason, EventKind, EventRecord } from './event-record.ts';
import type { EventQuery } from './event-store.ts';
import { lowestIdAt } from './event-id.ts';

/** EventRow is one `events` row as the drivers return it (ms as numbers). */
export interface EventRow {
  id: string; stream_key: string; kind: string; label: string | null; label_score: number | null; track_id: number;
  start_ms: number; end_ms: number | null; end_reason: string | null;
  first_pts_ms: number; last_pts_ms: number; last_seen_ms: number; frame_count: number;
  top_score: number; top_pts_ms: number;
  box_x: number; box_y: number; box_width: number; box_height: number;
  rel_x: number; rel_y: number; rel_width: number; rel_height: number;
  frame_width: number; frame_height: number; snapshot_path: string | null; snapshot_bytes: number;
}

/** toRecord maps a row to the API's shape. */
export function toRecord(r: EventRow): EventRecord {
  return {
    id: r.id, streamKey: r.stream_key, kind: r.kind as EventKind, label: r.label, labelScore: r.label_score, trackId: r.track_id,
    startMs: r.start_ms, endMs: r.end_ms, endReason: r.end_reason as EndReason | null,
    firstPtsMs: r.first_pts_ms, lastPtsMs: r.last_pts_ms, lastSeenMs: r.last_seen_ms, frameCount: r.frame_count,
    topScore: r.top_score, topPtsMs: r.top_pts_ms,
    box: { x: r.box_x, y: r.box_y, width: r.box_width, height: r.box_height },
    boxRelative: { x: r.rel_x, y: r.rel_y, width: r.rel_width, height: r.rel_height },
    frameWidth: r.frame_width, frameHeight: r.frame_height,
    snapshot: r.snapshot_path === null ? null : { path: r.snapshot_path, bytes: r.snapshot_bytes },
  };
}

/** toRow maps an event to its row. */
export function toRow(e: EventRecord): EventRow {
  return {
    id: e.id, stream_key: e.streamKey, kind: e.kind, label: e.label, label_score: e.label === null ? null : e.labelScore, track_id: e.trackId,
    start_ms: e.startMs, end_ms: e.endMs, end_reason: e.endReason,
    first_pts_ms: e.firstPtsMs, last_pts_ms: e.lastPtsMs, last_seen_ms: e.lastSeenMs, frame_count: e.frameCount,
    top_score: e.topScore, top_pts_ms: e.topPtsMs,
    box_x: e.box.x, box_y: e.box.y, box_width: e.box.width, box_height: e.box.height,
    rel_x: e.boxRelative.x, rel_y: e.boxRelative.y, rel_width: e.boxRelative.width, rel_height: e.boxRelative.height,
    frame_width: e.frameWidth, frame_height: e.frameHeight,
    snapshot_path: e.snapshot?.path ?? null, snapshot_bytes: e.snapshot?.bytes ?? 0,
  };
}

/** EVENT_COLUMNS are the row's columns in a fixed order (id first). */
export const EVENT_COLUMNS = Object.keys(toRow({
  id: '', streamKey: '', kind: 'face', label: null, labelScore: null, trackId: 0, startMs: 0, endMs: null, endReason: null,
  firstPtsMs: 0, lastPtsMs: 0, lastSeenMs: 0, frameCount: 0, topScore: 0, topPtsMs: 0,
  box: { x: 0, y: 0, width: 0, height: 0 }, boxRelative: { x: 0, y: 0, width: 0, height: 0 },
  frameWidth: 0, frameHeight: 0, snapshot: null,
})) as (keyof EventRow)[];

/**
 * UPSERT_SET is the ON CONFLICT update of an upsert (both dialects take `excluded.`): every column
 * but the id, and the snapshot kept when the new row carries none (it is written after its event).
 */
export const UPSERT_SET = `${EVENT_COLUMNS.filter((c) => c !== 'id' && !c.startsWith('snapshot_')).map((c) => `${c} = excluded.${c}`).join(', ')},
  snapshot_path = COALESCE(excluded.snapshot_path, events.snapshot_path),
  snapshot_bytes = CASE WHEN excluded.snapshot_path IS NULL THEN events.snapshot_bytes ELSE excluded.snapshot_bytes END`;

/** ROW_BYTES is about what one event row and its index entries take. */
export const ROW_BYTES = 400;

/**
 * eventQuerySql is `GET /api/events` as one SELECT, newest first, one row more than the page (to
 * tell whether there is a next page): the filters as `?` placeholders, their values in order.
 */
export function eventQuerySql(q: EventQuery): { sql: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (clause: string, value: unknown) => { where.push(clause); values.push(value); };
  if (q.streamKey !== undefined) add('stream_key = ?', q.streamKey);
  if (q.kind !== undefined) add('kind = ?', q.kind);
  if (q.label !== undefined) add('label = ?', q.label);
  // The id starts with the start time: time ranges and the cursor are id ranges.
  if (q.afterMs !== undefined) add('id >= ?', lowestIdAt(q.afterMs));
  if (q.beforeMs !== undefined) add('id < ?', lowestIdAt(q.beforeMs));
  if (q.cursor !== undefined) add('id < ?', q.cursor);
  if (q.minScore !== undefined) add('top_score >= ?', q.minScore);
  values.push(q.limit + 1);
  // The page's ids first, from an index alone where one holds every filtered column (the filters
  // are checked in the index, not on each row looked up); then only the page's rows are read.
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT * FROM events WHERE id IN (SELECT id FROM events ${filter} ORDER BY id DESC LIMIT ?) ORDER BY id DESC`, values };
}

/** toPage cuts the rows of eventQuerySql to the page and its next cursor. */
export function toPage(rows: EventRow[], limit: number): { events: EventRecord[]; nextCursor: string | null } {
  const events = rows.slice(0, limit).map(toRecord);
  return { events, nextCursor: rows.length > limit ? events[events.length - 1]!.id : null };
}
