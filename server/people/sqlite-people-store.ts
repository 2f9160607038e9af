/**
 * The SQLite gallery store (better-sqlite3), in the events database (`<dataDir>/events.sqlite`,
 * migration 2 of server/events/sqlite-migrations.ts) on a connection of its own: WAL mode lets it
 * write beside the event writer. Faces reference their person with ON DELETE CASCADE, so deleting
 * a person deletes their embeddings and images in the same statement.
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { applyMigrations, MIGRATIONS, type Migration } from '../events/sqlite-migrations.ts';
import { PeopleStoreError, type FaceSummary, type GalleryEmbedding, type NewFace, type PeopleStore, type Person } from './people-store.ts';

/** SqlitePeopleStoreOptions say where. */
export interface SqlitePeopleStoreOptions {
  /** Database file path (`:memory:` for tests that need no file). */
  path: string;
  /** How long a write waits for a lock held by another connection, ms (default 1000: an enrolment is rare, the event writer's transactions short). */
  busyTimeoutMs?: number;
  /** Migrations to run (default MIGRATIONS). */
  migrations?: readonly Migration[];
}

interface PersonRow { id: string; name: string; created_ms: number }
interface FaceRow { id: string; person_id: string; source: string; detection_score: number; created_ms: number }

const toFace = (r: FaceRow): FaceSummary => ({ id: r.id, personId: r.person_id, source: r.source, score: r.detection_score, createdMs: r.created_ms });

/** embeddingBlob stores a Float32Array as its little-endian bytes (what every platform Node runs on uses). */
function embeddingBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function blobEmbedding(b: Buffer): Float32Array {
  // A copy: the Buffer may sit at an offset that is not 4-byte aligned.
  return new Float32Array(new Uint8Array(b).buffer);
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';

/** SqlitePeopleStore is the default PeopleStore. */
export class SqlitePeopleStore implements PeopleStore {
  private db?: Database.Database;

  constructor(private readonly options: SqlitePeopleStoreOptions) {}

  async open(): Promise<void> {
    if (this.db) throw new Error('the people store is open already');
    const db = new Database(this.options.path, { timeout: this.options.busyTimeoutMs ?? 1000 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      applyMigrations(db, this.options.migrations ?? MIGRATIONS);
      this.db = db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private get open_(): Database.Database {
    if (!this.db) throw Object.assign(new Error('the people store is not open'), { code: 'ERR_PEOPLE_STORE_CLOSED' });
    return this.db;
  }

  private withFaces(rows: PersonRow[]): Person[] {
    if (rows.length === 0) return [];
    const db = this.open_;
    const faces = new Map<string, FaceSummary[]>(rows.map((r) => [r.id, []]));
    const select = rows.length === 1
      ? db.prepare('SELECT id, person_id, source, detection_score, created_ms FROM faces WHERE person_id = ? ORDER BY created_ms, rowid').all(rows[0]!.id)
      : db.prepare('SELECT id, person_id, source, detection_score, created_ms FROM faces ORDER BY created_ms, rowid').all();
    for (const f of select as FaceRow[]) faces.get(f.person_id)?.push(toFace(f));
    return rows.map((r) => ({ id: r.id, name: r.name, createdMs: r.created_ms, faces: faces.get(r.id)! }));
  }

  async createPerson(name: string): Promise<Person> {
    const row: PersonRow = { id: randomUUID(), name, created_ms: Date.now() };
    try {
      this.open_.prepare('INSERT INTO people (id, name, created_ms) VALUES (@id, @name, @created_ms)').run(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new PeopleStoreError('ERR_PERSON_EXISTS', `a person named '${name}' exists already`);
      throw err;
    }
    return { id: row.id, name, createdMs: row.created_ms, faces: [] };
  }

  async listPeople(): Promise<Person[]> {
    return this.withFaces(this.open_.prepare('SELECT * FROM people ORDER BY created_ms, rowid').all() as PersonRow[]);
  }

  async getPerson(id: string): Promise<Person | undefined> {
    const row = this.open_.prepare('SELECT * FROM people WHERE id = ?').get(id) as PersonRow | undefined;
    return row && this.withFaces([row])[0];
  }

  async findByName(name: string): Promise<Person | undefined> {
    const row = this.open_.prepare('SELECT * FROM people WHERE name = ? COLLATE NOCASE').get(name) as PersonRow | undefined;
    return row && this.withFaces([row])[0];
  }

  async renamePerson(id: string, name: string): Promise<Person | undefined> {
    const db = this.open_;
    const before = await this.getPerson(id);
    if (!before) return undefined;
    try {
      db.prepare('UPDATE people SET name = ? WHERE id = ?').run(name, id);
    } catch (err) {
      if (isUniqueViolation(err)) throw new PeopleStoreError('ERR_PERSON_EXISTS', `a person named '${name}' exists already`);
      throw err;
    }
    return before;
  }

  async deletePerson(id: string): Promise<Person | undefined> {
    const db = this.open_;
    return db.transaction(() => {
      const row = db.prepare('SELECT * FROM people WHERE id = ?').get(id) as PersonRow | undefined;
      if (!row) return undefined;
      const person = this.withFaces([row])[0]!;
      db.prepare('DELETE FROM people WHERE id = ?').run(id);
      return person;
    })();
  }

  async addFace(face: NewFace): Promise<FaceSummary> {
    const row = { id: randomUUID(), person_id: face.personId, embedding: embeddingBlob(face.embedding), image_jpeg: Buffer.from(face.imageJpeg), source: face.source, detection_score: face.score, created_ms: Date.now() };
    try {
      this.open_.prepare(`INSERT INTO faces (id, person_id, embedding, image_jpeg, source, detection_score, created_ms)
        VALUES (@id, @person_id, @embedding, @image_jpeg, @source, @detection_score, @created_ms)`).run(row);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new PeopleStoreError('ERR_PERSON_NOT_FOUND', `no person '${face.personId}' (deleted?)`);
      throw err;
    }
    return toFace(row);
  }

  async faceImage(personId: string, faceId: string): Promise<Uint8Array | undefined> {
    const row = this.open_.prepare('SELECT image_jpeg FROM faces WHERE id = ? AND person_id = ?').get(faceId, personId) as { image_jpeg: Buffer } | undefined;
    return row?.image_jpeg;
  }

  async deleteFace(personId: string, faceId: string): Promise<boolean> {
    return this.open_.prepare('DELETE FROM faces WHERE id = ? AND person_id = ?').run(faceId, personId).changes > 0;
  }

  async embeddings(): Promise<GalleryEmbedding[]> {
    const rows = this.open_.prepare(`SELECT f.person_id, p.name, f.id, f.embedding FROM faces f JOIN people p ON p.id = f.person_id
      ORDER BY f.person_id, f.created_ms, f.rowid`).all() as { person_id: string; name: string; id: string; embedding: Buffer }[];
    return rows.map((r) => ({ personId: r.person_id, name: r.name, faceId: r.id, embedding: blobEmbedding(r.embedding) }));
  }

  async counts(): Promise<{ people: number; faces: number }> {
    const db = this.open_;
    const people = (db.prepare('SELECT COUNT(*) AS n FROM people').get() as { n: number }).n;
    const faces = (db.prepare('SELECT COUNT(*) AS n FROM faces').get() as { n: number }).n;
    return { people, faces };
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    db?.close();
  }
}
