/**
 * The PostgreSQL schema as numbered migrations (the same steps as sqlite-migrations.ts, in
 * PostgreSQL's types): each runs once, in order, in its own transaction, recorded in
 * `schema_version`. A schema change is a new entry at the end, never an edit of one that shipped.
 */
import type { Migration } from './sqlite-migrations.ts';

/** PG_MIGRATIONS are the schema steps, oldest first. */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events table, with the indices of the query API',
    // Ids compare byte-wise (COLLATE "C"): they sort by start time whatever the database's locale.
    // node_id says which node wrote the event: a node that starts again closes only its own.
    sql: `
      CREATE TABLE events (
        id TEXT COLLATE "C" PRIMARY KEY,
        node_id TEXT NOT NULL,
        stream_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        label TEXT,
        track_id INTEGER NOT NULL,
        start_ms BIGINT NOT NULL,
        end_ms BIGINT,
        end_reason TEXT,
        first_pts_ms DOUBLE PRECISION NOT NULL,
        last_pts_ms DOUBLE PRECISION NOT NULL,
        last_seen_ms BIGINT NOT NULL,
        frame_count INTEGER NOT NULL,
        top_score DOUBLE PRECISION NOT NULL,
        top_pts_ms DOUBLE PRECISION NOT NULL,
        box_x DOUBLE PRECISION NOT NULL, box_y DOUBLE PRECISION NOT NULL,
        box_width DOUBLE PRECISION NOT NULL, box_height DOUBLE PRECISION NOT NULL,
        rel_x DOUBLE PRECISION NOT NULL, rel_y DOUBLE PRECISION NOT NULL,
        rel_width DOUBLE PRECISION NOT NULL, rel_height DOUBLE PRECISION NOT NULL,
        frame_width INTEGER NOT NULL,
        frame_height INTEGER NOT NULL,
        snapshot_path TEXT,
        snapshot_bytes BIGINT NOT NULL DEFAULT 0
      );
      CREATE INDEX events_stream ON events (stream_key, id);
      CREATE INDEX events_kind ON events (kind, id);
      CREATE INDEX events_label ON events (label, id) WHERE label IS NOT NULL;
      CREATE INDEX events_open ON events (node_id, id) WHERE end_ms IS NULL;
    `,
  },
  {
    version: 2,
    description: 'indices for filtered pages: stream (+ kind) with the score in the index, label + stream (as SQLite\'s version 3)',
    sql: `
      DROP INDEX events_kind;
      DROP INDEX events_stream;
      CREATE INDEX events_stream_score ON events (stream_key, id, top_score);
      CREATE INDEX events_stream_kind ON events (stream_key, kind, id, top_score);
      CREATE INDEX events_label_stream ON events (label, stream_key, id, kind, top_score) WHERE label IS NOT NULL;
    `,
  },
  {
    version: 3,
    description: 'events.label_score: the similarity behind a recognised label (as SQLite\'s version 4)',
    sql: 'ALTER TABLE events ADD COLUMN label_score DOUBLE PRECISION;',
  },
];
