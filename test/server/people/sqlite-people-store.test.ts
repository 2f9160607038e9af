/**
 * The SQLite gallery store on a real database file: migration 2 on top of an events database that
 * has only migration 1 (its events kept), people CRUD with unique names, faces with their
 * embeddings stored bit-exact, the cascade of a person's deletion, and the event store's relabel
 * (what deleting or renaming a person does to stored events).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../../server/events/sqlite-event-store.ts';
import { MIGRATIONS } from '../../../server/events/sqlite-migrations.ts';
import { EventIdFactory } from '../../../server/events/event-id.ts';
import { SqlitePeopleStore } from '../../../server/people/sqlite-people-store.ts';
import { PeopleStoreError } from '../../../server/people/people-store.ts';
import { makeEvent, T0 } from '../events/event-fixtures.ts';
import { toRow } from '../../../server/events/event-rows.ts';

const unit = (seed: number) => {
  const v = Float32Array.from({ length: 128 }, (_, i) => Math.sin(seed * 7.3 + i * 0.37) + 1e-3 * i);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

describe('SQLite people store', () => {
  let dir: string;
  let path: string;
  let events: SqliteEventStore;
  let store: SqlitePeopleStore;
  const ids = new EventIdFactory();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'people-store-'));
    path = join(dir, 'events.sqlite');
    // A database from before the gallery: migration 1 only, with events in it.
    // (made by hand: today's store can not write with an old schema, it prepares its statements at open)
    const raw = new Database(path);
    raw.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_ms INTEGER NOT NULL)');
    raw.exec(MIGRATIONS[0]!.sql);
    raw.prepare('INSERT INTO schema_version VALUES (?, ?, ?)').run(1, MIGRATIONS[0]!.description, Date.now());
    // Rows as that version wrote them: its columns only (later versions add some).
    const columns = (raw.prepare('PRAGMA table_info(events)').all() as { name: string }[]).map((c) => c.name);
    const insert = raw.prepare(`INSERT INTO events (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
    for (const event of [makeEvent(ids, T0, { label: 'Ann' }), makeEvent(ids, T0 + 10, { label: 'ann' }), makeEvent(ids, T0 + 20, { label: 'Bob' }), makeEvent(ids, T0 + 30)]) {
      const row = toRow(event) as unknown as Record<string, unknown>;
      insert.run(Object.fromEntries(columns.map((c) => [c, row[c]])));
    }
    raw.close();
    store = new SqlitePeopleStore({ path });
    await store.open();
    events = new SqliteEventStore({ path });
    await events.open();
  });
  after(async () => {
    await store?.close();
    await events?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates the events database to the latest version once (the gallery is version 2), keeping its events', async () => {
    assert.equal(events.schemaVersion, MIGRATIONS.at(-1)!.version);
    assert.equal((await events.query({ limit: 10 })).events.length, 4);
    const db = new Database(path, { readonly: true });
    try {
      const versions = db.prepare('SELECT version FROM schema_version ORDER BY version').all() as { version: number }[];
      assert.deepEqual(versions.map((v) => v.version), MIGRATIONS.map((m) => m.version));
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
      for (const t of ['events', 'faces', 'people', 'schema_version']) assert.ok(tables.includes(t), t);
    } finally {
      db.close();
    }
    // A second connection opening the migrated file applies nothing again.
    const again = new SqlitePeopleStore({ path });
    await again.open();
    await again.close();
    assert.equal(events.schemaVersion, MIGRATIONS.at(-1)!.version);
  });

  it('creates, finds, lists and renames people; a name is unique whatever its ASCII case', async () => {
    const ann = await store.createPerson('Ann');
    assert.match(ann.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(ann.faces, []);
    await assert.rejects(store.createPerson('ANN'), (e: unknown) => e instanceof PeopleStoreError && e.code === 'ERR_PERSON_EXISTS');
    const bob = await store.createPerson('Bob');
    assert.deepEqual((await store.listPeople()).map((p) => p.name), ['Ann', 'Bob']);
    assert.equal((await store.findByName('bob'))?.id, bob.id);
    assert.equal(await store.findByName('Carol'), undefined);
    assert.equal(await store.getPerson('no-such-id'), undefined);
    await assert.rejects(store.renamePerson(bob.id, 'ann'), (e: unknown) => e instanceof PeopleStoreError && e.code === 'ERR_PERSON_EXISTS');
    const before = await store.renamePerson(bob.id, 'Robert');
    assert.equal(before?.name, 'Bob');
    assert.equal((await store.getPerson(bob.id))?.name, 'Robert');
    assert.equal(await store.renamePerson('no-such-id', 'X'), undefined);
    assert.deepEqual(await store.counts(), { people: 2, faces: 0 });
  });

  it('keeps faces with bit-exact embeddings and their images; a face of a missing person is refused', async () => {
    const [ann, bob] = await store.listPeople();
    const f1 = await store.addFace({ personId: ann!.id, embedding: unit(1), imageJpeg: JPEG, source: 'upload', score: 0.91 });
    const f2 = await store.addFace({ personId: ann!.id, embedding: unit(2), imageJpeg: JPEG, source: 'stream:cam', score: 0.8 });
    await store.addFace({ personId: bob!.id, embedding: unit(3), imageJpeg: JPEG, source: 'cli:bob.jpg', score: 0.7 });
    assert.deepEqual((await store.getPerson(ann!.id))!.faces.map((f) => [f.id, f.source, f.score]), [[f1.id, 'upload', 0.91], [f2.id, 'stream:cam', 0.8]]);
    assert.deepEqual(await store.faceImage(ann!.id, f1.id), Buffer.from(JPEG));
    assert.equal(await store.faceImage(bob!.id, f1.id), undefined, 'a face is only found under its own person');
    const gallery = await store.embeddings();
    assert.equal(gallery.length, 3);
    const g1 = gallery.find((g) => g.faceId === f1.id)!;
    assert.equal(g1.name, 'Ann');
    assert.deepEqual([...g1.embedding], [...unit(1)]);
    await assert.rejects(store.addFace({ personId: 'gone', embedding: unit(4), imageJpeg: JPEG, source: 'upload', score: 0.9 }),
      (e: unknown) => e instanceof PeopleStoreError && e.code === 'ERR_PERSON_NOT_FOUND');
    assert.equal(await store.deleteFace(bob!.id, f2.id), false, 'not Bob\'s face');
    assert.equal(await store.deleteFace(ann!.id, f2.id), true);
    assert.deepEqual(await store.counts(), { people: 2, faces: 2 });
  });

  it('deleting a person deletes their faces and embeddings (cascade), nobody else\'s', async () => {
    const [ann, bob] = await store.listPeople();
    const deleted = await store.deletePerson(ann!.id);
    assert.equal(deleted?.name, 'Ann');
    assert.equal(deleted?.faces.length, 1);
    assert.equal(await store.getPerson(ann!.id), undefined);
    assert.equal(await store.deletePerson(ann!.id), undefined);
    const db = new Database(path, { readonly: true });
    try {
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM faces WHERE person_id = ?').get(ann!.id) as { n: number }).n, 0);
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM faces WHERE person_id = ?').get(bob!.id) as { n: number }).n, 1);
    } finally {
      db.close();
    }
    assert.deepEqual((await store.embeddings()).map((g) => g.name), ['Robert']);
  });

  it('relabel clears or renames a label on stored events, exact match only', async () => {
    assert.equal(await events.relabel('Ann', null), 1);
    const labels = async () => (await events.query({ limit: 10 })).events.map((e) => e.label).reverse();
    assert.deepEqual(await labels(), [null, 'ann', 'Bob', null]);
    assert.equal(await events.relabel('Bob', 'Robert'), 1);
    assert.deepEqual(await labels(), [null, 'ann', 'Robert', null]);
    assert.equal(await events.relabel('Nobody', null), 0);
    assert.equal((await events.query({ label: 'Robert', limit: 10 })).events.length, 1);
  });
});
