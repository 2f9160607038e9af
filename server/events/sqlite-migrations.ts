/**
 * The SQLite schema as numbered migrations: each runs once, in order, in its own transaction, and
 * `schema_version` records it. A schema change is a new entry at the end, never an edit of one that
 * has shipped.
 */

/** Migration is one schema step. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** MIGRATIONS are the schema steps, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events table, with the indices of the query API',
    sql: `
      CREATE TABLE events (
        id TEXT PRIMARY KEY,
        stream_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        label TEXT,
        track_id INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        end_reason TEXT,
        first_pts_ms REAL NOT NULL,
        last_pts_ms REAL NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        frame_count INTEGER NOT NULL,
        top_score REAL NOT NULL,
        top_pts_ms REAL NOT NULL,
        box_x REAL NOT NULL, box_y REAL NOT NULL, box_width REAL NOT NULL, box_height REAL NOT NULL,
        rel_x REAL NOT NULL, rel_y REAL NOT NULL, rel_width REAL NOT NULL, rel_height REAL NOT NULL,
        frame_width INTEGER NOT NULL,
        frame_height INTEGER NOT NULL,
        snapshot_path TEXT,
        snapshot_bytes INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      -- The id starts with the start time: newest-first pages and time ranges are id ranges.
      CREATE INDEX events_stream ON events (stream_key, id);
      CREATE INDEX events_kind ON events (kind, id);
      CREATE INDEX events_label ON events (label, id) WHERE label IS NOT NULL;
      CREATE INDEX events_open ON events (id) WHERE end_ms IS NULL;
    `,
  },
  {
    version: 2,
    description: 'people and their reference faces (the recognition gallery, server/people/)',
    sql: `
      -- A name is an event label: unique, whatever its ASCII case. Rowid tables: the rowid keeps
      -- the order of insertion within a millisecond.
      CREATE TABLE people (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_ms INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX people_name ON people (name COLLATE NOCASE);
      -- embedding: 128 float32, little-endian (512 bytes), L2-normalised; image_jpeg: the aligned chip.
      CREATE TABLE faces (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        embedding BLOB NOT NULL,
        image_jpeg BLOB NOT NULL,
        source TEXT NOT NULL,
        detection_score REAL NOT NULL,
        created_ms INTEGER NOT NULL
      );
      CREATE INDEX faces_person ON faces (person_id, id);
    `,
  },
  {
    version: 3,
    description: 'indices for filtered pages: stream (+ kind) with the score in the index, label + stream; no kind-only index',
    // Measured with bench/store.bench.ts (100,000 events, 10 streams): stream + kind + minScore
    // took p95 114 ms, as SQLite walked the two-valued events_kind index and looked every row up
    // for its stream and score. Now the stream's (and kind's) range is read newest first with the
    // score (and, for a label, kind and score) in the index: SqliteEventStore.query picks the
    // page's ids from the index alone, then looks up only those rows. A kind-only page reads the
    // table itself newest first (a kind is 30 % or more of the rows).
    sql: `
      DROP INDEX events_kind;
      DROP INDEX events_stream;
      CREATE INDEX events_stream_score ON events (stream_key, id, top_score);
      CREATE INDEX events_stream_kind ON events (stream_key, kind, id, top_score);
      CREATE INDEX events_label_stream ON events (label, stream_key, id, kind, top_score) WHERE label IS NOT NULL;
    `,
  },
  {
    version: 4,
    description: 'events.label_score: the similarity behind a recognised label',
    sql: 'ALTER TABLE events ADD COLUMN label_score REAL;',
  },
];

/**
 * applyMigrations runs the migrations `db` has not had yet, each in its own IMMEDIATE transaction
 * that reads the version inside the write lock, so two connections (the server's stores, the
 * enrol CLI) opening one file at once apply each step once. Throws the first failing step's error.
 */
export function applyMigrations(db: import('better-sqlite3').Database, migrations: readonly Migration[] = MIGRATIONS): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_ms INTEGER NOT NULL)');
  const current = db.prepare('SELECT MAX(version) AS v FROM schema_version');
  const record = db.prepare('INSERT INTO schema_version (version, description, applied_ms) VALUES (?, ?, ?)');
  for (const m of migrations) {
    db.transaction(() => {
      if (m.version <= ((current.get() as { v: number | null }).v ?? 0)) return;
      db.exec(m.sql);
      record.run(m.version, m.description, Date.now());
    }).immediate();
  }
}
