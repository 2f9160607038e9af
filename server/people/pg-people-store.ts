/**
 * The PostgreSQL gallery store (the `pg` driver), in the cluster's events database (migration 4 of
 * server/events/pg-migrations.ts): every node enrols into, and matches against, the same people.
 * Each change is announced with `NOTIFY livematte_gallery` ('deleted' or 'changed') in its
 * transaction, and `watch` LISTENs, so a person deleted through one node stops being recognised
 * on every node within a round trip. Faces reference their person with ON DELETE CASCADE.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { applyPgMigrations, PG_MIGRATIONS } from '../events/pg-migrations.ts';
import type { Migration } from '../events/sqlite-migrations.ts';
import { PeopleStoreError, type FaceSummary, type GalleryChangeKind, type GalleryEmbedding, type NewFace, type PeopleStore, type Person } from './people-store.ts';

/** The channel gallery changes are announced on. */
export const GALLERY_CHANNEL = 'livematte_gallery';
/** How long a lost LISTEN connection waits before it connects again, ms. */
const RELISTEN_MS = 1000;

/** PgPeopleStoreOptions say where. */
export interface PgPeopleStoreOptions {
  /** Connection URL, e.g. `postgres://user:password@db:5432/livematte`. */
  url: string;
  /** Connections in the pool (default 2; the LISTEN connection is one more). */
  maxConnections?: number;
  /** Migrations to run (default PG_MIGRATIONS). */
  migrations?: readonly Migration[];
}

interface PersonRow { id: string; name: string; created_ms: number }
interface FaceRow { id: string; person_id: string; source: string; detection_score: number; created_ms: number }

const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};
const toFace = (r: FaceRow): FaceSummary => ({ id: r.id, personId: r.person_id, source: r.source, score: r.detection_score, createdMs: r.created_ms });
const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';
const isForeignKeyViolation = (err: unknown) => (err as { code?: string }).code === '23503';

/** PgPeopleStore is the PeopleStore of a cluster. */
export class PgPeopleStore implements PeopleStore {
  private pool?: pg.Pool;
  private listener?: pg.Client;
  private readonly watchers = new Set<(kind: GalleryChangeKind) => void>();
  private closed = false;
  private relisten?: NodeJS.Timeout;

  constructor(private readonly options: PgPeopleStoreOptions) {}

  async open(): Promise<void> {
    if (this.pool) throw new Error('the people store is open already');
    const pool = new pg.Pool({ connectionString: this.options.url, max: this.options.maxConnections ?? 2, types: TYPES, connectionTimeoutMillis: 5000 });
    pool.on('error', () => {});
    try {
      await applyPgMigrations(pool, this.options.migrations ?? PG_MIGRATIONS);
    } catch (err) {
      await pool.end();
      throw err;
    }
    this.pool = pool;
    if (this.watchers.size > 0) await this.listen();
  }

  private get open_(): pg.Pool {
    if (!this.pool) throw Object.assign(new Error('the people store is not open'), { code: 'ERR_PEOPLE_STORE_CLOSED' });
    return this.pool;
  }

  /**
   * watch calls `listener` on every change any node makes to the gallery ('deleted': a person or
   * a face is gone; 'changed': anything else), and with 'deleted' when its connection is lost
   * and again once it LISTENs again (changes may have been missed in between). Returns the
   * unsubscribe function.
   */
  watch(listener: (kind: GalleryChangeKind) => void): () => void {
    this.watchers.add(listener);
    if (this.pool && !this.listener) void this.listen();
    return () => { this.watchers.delete(listener); };
  }

  /**
   * listen connects the LISTEN client; once lost (the server restarts, the network goes), it is
   * connected again every RELISTEN_MS until it succeeds. `again`: this is such a retry.
   */
  private async listen(again = false): Promise<void> {
    if (this.closed || this.listener) return;
    const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: 5000 });
    this.listener = client;
    let listening = false;
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => {});
      // Told once per loss, at once: the watchers withdraw what they can no longer follow.
      if (listening || !again) this.emit('deleted');
      if (!this.closed) this.relisten = setTimeout(() => void this.listen(true), RELISTEN_MS);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => { if (n.channel === GALLERY_CHANNEL) this.emit(n.payload === 'deleted' ? 'deleted' : 'changed'); });
    try {
      await client.connect();
      await client.query(`LISTEN ${GALLERY_CHANNEL}`);
      listening = true;
      if (again) this.emit('deleted');
    } catch {
      lost();
    }
  }

  private emit(kind: GalleryChangeKind): void {
    for (const w of this.watchers) w(kind);
  }

  /** change runs `work` in a transaction that announces `kind` when it commits. */
  private async change<T>(kind: GalleryChangeKind, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.open_.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('SELECT pg_notify($1, $2)', [GALLERY_CHANNEL, kind]);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  private async withFaces(rows: PersonRow[]): Promise<Person[]> {
    if (rows.length === 0) return [];
    const faces = new Map<string, FaceSummary[]>(rows.map((r) => [r.id, []]));
    const result = await this.open_.query<FaceRow>(
      'SELECT id, person_id, source, detection_score, created_ms FROM faces WHERE person_id = ANY($1) ORDER BY created_ms, seq', [rows.map((r) => r.id)]);
    for (const f of result.rows) faces.get(f.person_id)?.push(toFace(f));
    return rows.map((r) => ({ id: r.id, name: r.name, createdMs: r.created_ms, faces: faces.get(r.id)! }));
  }

  async createPerson(name: string): Promise<Person> {
    const row: PersonRow = { id: randomUUID(), name, created_ms: Date.now() };
    try {
      await this.change('changed', (c) => c.query('INSERT INTO people (id, name, created_ms) VALUES ($1, $2, $3)', [row.id, row.name, row.created_ms]));
    } catch (err) {
      if (isUniqueViolation(err)) throw new PeopleStoreError('ERR_PERSON_EXISTS', `a person named '${name}' exists already`);
      throw err;
    }
    return { id: row.id, name, createdMs: row.created_ms, faces: [] };
  }

  async listPeople(): Promise<Person[]> {
    return this.withFaces((await this.open_.query<PersonRow>('SELECT id, name, created_ms FROM people ORDER BY created_ms, seq')).rows);
  }

  async getPerson(id: string): Promise<Person | undefined> {
    const rows = (await this.open_.query<PersonRow>('SELECT id, name, created_ms FROM people WHERE id = $1', [id])).rows;
    return (await this.withFaces(rows))[0];
  }

  async findByName(name: string): Promise<Person | undefined> {
    const rows = (await this.open_.query<PersonRow>('SELECT id, name, created_ms FROM people WHERE lower(name COLLATE "C") = lower($1 COLLATE "C")', [name])).rows;
    return (await this.withFaces(rows))[0];
  }

  async renamePerson(id: string, name: string): Promise<Person | undefined> {
    const before = await this.getPerson(id);
    if (!before) return undefined;
    try {
      await this.change('changed', (c) => c.query('UPDATE people SET name = $1 WHERE id = $2', [name, id]));
    } catch (err) {
      if (isUniqueViolation(err)) throw new PeopleStoreError('ERR_PERSON_EXISTS', `a person named '${name}' exists already`);
      throw err;
    }
    return before;
  }

  async deletePerson(id: string): Promise<Person | undefined> {
    const person = await this.getPerson(id);
    if (!person) return undefined;
    const deleted = await this.change('deleted', async (c) => (await c.query('DELETE FROM people WHERE id = $1', [id])).rowCount ?? 0);
    return deleted > 0 ? person : undefined;
  }

  async addFace(face: NewFace): Promise<FaceSummary> {
    const row = { id: randomUUID(), person_id: face.personId, source: face.source, detection_score: face.score, created_ms: Date.now() };
    try {
      await this.change('changed', (c) => c.query(
        'INSERT INTO faces (id, person_id, embedding, image_jpeg, source, detection_score, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [row.id, row.person_id, Buffer.from(face.embedding.buffer, face.embedding.byteOffset, face.embedding.byteLength), Buffer.from(face.imageJpeg), row.source, row.detection_score, row.created_ms]));
    } catch (err) {
      if (isForeignKeyViolation(err)) throw new PeopleStoreError('ERR_PERSON_NOT_FOUND', `no person '${face.personId}' (deleted?)`);
      throw err;
    }
    return toFace(row);
  }

  async faceImage(personId: string, faceId: string): Promise<Uint8Array | undefined> {
    const rows = (await this.open_.query<{ image_jpeg: Buffer }>('SELECT image_jpeg FROM faces WHERE id = $1 AND person_id = $2', [faceId, personId])).rows;
    return rows[0]?.image_jpeg;
  }

  async deleteFace(personId: string, faceId: string): Promise<boolean> {
    return this.change('deleted', async (c) => ((await c.query('DELETE FROM faces WHERE id = $1 AND person_id = $2', [faceId, personId])).rowCount ?? 0) > 0);
  }

  async embeddings(): Promise<GalleryEmbedding[]> {
    const rows = (await this.open_.query<{ person_id: string; name: string; id: string; embedding: Buffer }>(
      'SELECT f.person_id, p.name, f.id, f.embedding FROM faces f JOIN people p ON p.id = f.person_id ORDER BY f.person_id, f.created_ms, f.seq')).rows;
    // A copy: the Buffer may sit at an offset that is not 4-byte aligned.
    return rows.map((r) => ({ personId: r.person_id, name: r.name, faceId: r.id, embedding: new Float32Array(new Uint8Array(r.embedding).buffer) }));
  }

  async counts(): Promise<{ people: number; faces: number }> {
    const r = (await this.open_.query<{ people: number; faces: number }>('SELECT (SELECT COUNT(*) FROM people)::int AS people, (SELECT COUNT(*) FROM faces)::int AS faces')).rows[0]!;
    return { people: r.people, faces: r.faces };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.relisten);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }
}
