/**
 * The event store's interface: what the writer and the query API need, nothing SQLite-specific,
 * so another backend (PostgreSQL, for the cluster) can stand in. Every method is async; a failed
 * one rejects with the backend's error (its `code`, e.g. `SQLITE_FULL`, says why).
 */
import type { EndReason, EventKind, EventRecord } from './event-record.ts';

/** EventWrite is one queued change: the whole event (insert or replace), or a snapshot for one. */
export type EventWrite =
  | { op: 'upsert'; event: EventRecord }
  | { op: 'snapshot'; id: string; path: string; bytes: number };

/** EventQuery filters and pages `GET /api/events` (newest first). */
export interface EventQuery {
  streamKey?: string;
  kind?: EventKind;
  label?: string;
  /** Events that started at or after this time (Unix epoch ms). */
  afterMs?: number;
  /** Events that started before this time (Unix epoch ms). */
  beforeMs?: number;
  /** Top score at least this (0..1). */
  minScore?: number;
  /** Page size, 1..500. */
  limit: number;
  /** The `nextCursor` of the previous page: only events older than it. */
  cursor?: string;
}

/** EventPage is one page of events, newest first, and the cursor of the next (null: no more). */
export interface EventPage {
  events: EventRecord[];
  nextCursor: string | null;
}

/** RetentionLimits bound what the store keeps. */
export interface RetentionLimits {
  /** Ended events that started before this (Unix epoch ms) are deleted. */
  startedBeforeMs: number;
  /** Oldest ended events are deleted until database plus snapshots take at most this (0 = no bound). */
  maxBytes: number;
}

/** RetentionResult says what retention deleted: the rows, and the snapshot files to remove. */
export interface RetentionResult {
  deleted: number;
  snapshotPaths: string[];
}

/** EventStore keeps events. */
export interface EventStore {
  /**
   * open makes the store ready: runs migrations and ends the events a previous run left open as
   * `server_restart` (at their last sighting).
   * @returns how many events were closed that way.
   */
  open(): Promise<{ closedOnRestart: number }>;
  /** writeBatch applies the writes in one transaction, in order (all or nothing). */
  writeBatch(writes: readonly EventWrite[]): Promise<void>;
  /** get returns one event, or undefined. */
  get(id: string): Promise<EventRecord | undefined>;
  /** query returns one page, newest first (keyset pagination on the id). */
  query(q: EventQuery): Promise<EventPage>;
  /** delete removes one event; resolves with it (its snapshot path, to remove the file) or undefined. */
  delete(id: string): Promise<EventRecord | undefined>;
  /**
   * relabel replaces label `from` with `to` on every stored event (`to` null clears it: a person
   * deleted from the gallery, the right to be forgotten; a string: the person renamed); exact,
   * case-sensitive match. Resolves with how many events changed.
   */
  relabel(from: string, to: string | null): Promise<number>;
  /**
   * openEventNodes lists the ids of the nodes that have open events (sorted; empty when none is
   * open). A shared store (PostgreSQL) records each event's node; a SQLite file belongs to one
   * node, its own (`nodeId` of the store).
   */
  openEventNodes(): Promise<string[]>;
  /**
   * closeNodeEvents ends every open event of node `nodeId` with `reason`, each at its last
   * sighting (`endMs` = `lastSeenMs`, as the tracker ends an event). Atomic per event: of two
   * callers at once, each event is closed by exactly one, which gets it back.
   * @returns the events this call closed (ended), in id order; empty when that node has none open.
   */
  closeNodeEvents(nodeId: string, reason: EndReason): Promise<EventRecord[]>;
  /** applyRetention deletes ended events by age, then the oldest beyond the size bound. */
  applyRetention(limits: RetentionLimits): Promise<RetentionResult>;
  /** sizeBytes is what the store takes now: database pages in use plus snapshot bytes. */
  sizeBytes(): Promise<number>;
  /** close releases the store (idempotent). */
  close(): Promise<void>;
}
