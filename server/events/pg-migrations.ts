/**
 * The PostgreSQL schema as numbered migrations (the same steps as sqlite-migrations.ts, in
 * PostgreSQL's types): each runs once, in order, in its own transaction, recorded in
 * `schema_version`. A schema change is a new entry at the end, never an edit of one that shipped.
 */
import type pg from 'pg';
import type { Migration } from './sqlite-migrations.ts';

/** The advisory lock key migrations hold (any fixed 64-bit number; "livematt" in ASCII). */
const MIGRATION_LOCK = '7596498110069990516';

/**
 * applyPgMigrations runs the migrations newer than the database's `schema_version` in one
 * transaction under an advisory lock, so nodes (and a node's stores) starting at once do not race.
 * @throws the driver's error; nothing is applied then.
 */
export async function applyPgMigrations(pool: pg.Pool, migrations: readonly Migration[] = PG_MIGRATIONS): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_ms BIGINT NOT NULL)');
    const current = (await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version')).rows[0]!.v ?? 0;
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_version (version, description, applied_ms) VALUES ($1, $2, $3)', [m.version, m.description, Date.now()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

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
  {
    version: 4,
    description: 'people and their reference faces (the recognition gallery, as SQLite\'s version 2)',
    sql: `
      CREATE TABLE people (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        seq BIGSERIAL
      );
      -- A name is an event label: unique whatever its ASCII case (as SQLite's NOCASE).
      CREATE UNIQUE INDEX people_name ON people (lower(name COLLATE "C"));
      -- embedding: 128 float32, little-endian (512 bytes), L2-normalised; image_jpeg: the aligned chip.
      CREATE TABLE faces (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        embedding BYTEA NOT NULL,
        image_jpeg BYTEA NOT NULL,
        source TEXT NOT NULL,
        detection_score DOUBLE PRECISION NOT NULL,
        created_ms BIGINT NOT NULL,
        seq BIGSERIAL
      );
      CREATE INDEX faces_person ON faces (person_id, id);
    `,
  },
];
