import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../../server/events/sqlite-event-store.ts';
import { MIGRATIONS } from '../../../server/events/sqlite-migrations.ts';
import { EventIdFactory } from '../../../server/events/event-id.ts';
import type { EventRecord } from '../../../server/events/event-record.ts';
import { makeEvent, T0 } from './event-fixtures.ts';

const DAY = 86_400_000;

describe('SqliteEventStore', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'events-store-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates a new file to the latest version once, in WAL mode, and applies later migrations on the next open', async () => {
    const path = join(dir, 'migrate.sqlite');
    const store = new SqliteEventStore({ path });
    await store.open();
    assert.equal(store.schemaVersion, MIGRATIONS.at(-1)!.version);
    await store.close();
    const again = new SqliteEventStore({ path });
    await again.open();
    const latest = MIGRATIONS.at(-1)!.version;
    assert.equal(again.schemaVersion, latest);
    await again.close();
    const v2 = new SqliteEventStore({ path, migrations: [...MIGRATIONS, { version: latest + 1, description: 'test column', sql: 'ALTER TABLE events ADD COLUMN note TEXT' }] });
    await v2.open();
    assert.equal(v2.schemaVersion, latest + 1);
    await v2.close();
    const raw = new Database(path, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(raw.prepare('SELECT version FROM schema_version ORDER BY version').all().map((r) => (r as { version: number }).version), [...MIGRATIONS.map((m) => m.version), latest + 1]);
    assert.ok((raw.prepare("SELECT sql FROM sqlite_master WHERE name = 'events'").get() as { sql: string }).sql.includes('note'));
    raw.close();
  });

  it('ends the events a previous run left open as server_restart, at their last sighting', async () => {
    const path = join(dir, 'restart.sqlite');
    const ids = new EventIdFactory();
    const store = new SqliteEventStore({ path });
    await store.open();
    const open = makeEvent(ids, T0, { endMs: null, endReason: null, lastSeenMs: T0 + 1234 });
    const ended = makeEvent(ids, T0 + 1);
    await store.writeBatch([{ op: 'upsert', event: open }, { op: 'upsert', event: ended }]);
    await store.close();
    const next = new SqliteEventStore({ path });
    assert.deepEqual(await next.open(), { closedOnRestart: 1 });
    assert.deepEqual(await next.get(open.id), { ...open, endMs: T0 + 1234, endReason: 'server_restart' });
    assert.deepEqual(await next.get(ended.id), ended);
    await next.close();
  });

  it('keeps a snapshot through later upserts that carry none', async () => {
    const store = new SqliteEventStore({ path: ':memory:' });
    await store.open();
    const e = makeEvent(new EventIdFactory(), T0, { endMs: null, endReason: null });
    await store.writeBatch([{ op: 'upsert', event: e }, { op: 'snapshot', id: e.id, path: 'cam/2025-01-02/x.jpg', bytes: 1234 }]);
    await store.writeBatch([{ op: 'upsert', event: { ...e, frameCount: 99, endMs: T0 + 5, endReason: 'stream_ended' } }]);
    const got = await store.get(e.id);
    assert.deepEqual(got?.snapshot, { path: 'cam/2025-01-02/x.jpg', bytes: 1234 });
    assert.equal(got?.frameCount, 99);
    assert.equal(got?.endReason, 'stream_ended');
    assert.deepEqual(await store.delete(e.id), got);
    assert.equal(await store.get(e.id), undefined);
    assert.equal(await store.delete(e.id), undefined);
    await store.close();
  });

  describe('query', () => {
    const store = new SqliteEventStore({ path: ':memory:' });
    const all: EventRecord[] = [];
    before(async () => {
      await store.open();
      const ids = new EventIdFactory();
      // 1,000 events one second apart, some in the same ms (ids must still order them).
      for (let i = 0; i < 1000; i++) {
        all.push(makeEvent(ids, T0 + Math.floor(i / 3) * 1000, {
          streamKey: i % 2 ? 'cam' : 'door', kind: i % 5 ? 'face' : 'person',
          label: i % 10 === 0 ? 'ada' : null, topScore: (i % 100) / 100, trackId: i,
        }));
      }
      await store.writeBatch(all.map((event) => ({ op: 'upsert' as const, event })));
    });
    after(() => store.close());

    async function pages(q: Omit<Parameters<SqliteEventStore['query']>[0], 'limit' | 'cursor'>, limit: number): Promise<EventRecord[][]> {
      const out: EventRecord[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.query({ ...q, limit, cursor });
        out.push(page.events);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    }

    const cases: [string, Parameters<SqliteEventStore['query']>[0], (e: EventRecord) => boolean][] = [
      ['everything', { limit: 0 }, () => true],
      ['a stream', { streamKey: 'cam', limit: 0 }, (e) => e.streamKey === 'cam'],
      ['a kind', { kind: 'person', limit: 0 }, (e) => e.kind === 'person'],
      ['a label', { label: 'ada', limit: 0 }, (e) => e.label === 'ada'],
      ['a score', { minScore: 0.95, limit: 0 }, (e) => e.topScore >= 0.95],
      ['a time range', { afterMs: T0 + 10_000, beforeMs: T0 + 20_000, limit: 0 }, (e) => e.startMs >= T0 + 10_000 && e.startMs < T0 + 20_000],
      ['everything at once', { streamKey: 'door', kind: 'face', minScore: 0.5, afterMs: T0 + 5000, limit: 0 }, (e) => e.streamKey === 'door' && e.kind === 'face' && e.topScore >= 0.5 && e.startMs >= T0 + 5000],
    ];
    for (const [name, q, keep] of cases) {
      it(`pages through ${name}, newest first, each event once`, async () => {
        const got = await pages(q, 97);
        const expected = all.filter(keep).reverse();
        assert.ok(expected.length > 0);
        assert.deepEqual(got.flat().map((e) => e.id), expected.map((e) => e.id));
        assert.ok(got.slice(0, -1).every((p) => p.length === 97));
        assert.ok(got.at(-1)!.length <= 97 && got.at(-1)!.length > 0);
      });
    }

    it('says there is no next page on the last one, also when it is exactly full', async () => {
      const page = await store.query({ label: 'ada', limit: 100 });
      assert.equal(page.events.length, 100);
      assert.equal(page.nextCursor, null);
      assert.deepEqual(await store.query({ streamKey: 'nobody', limit: 10 }), { events: [], nextCursor: null });
    });
  });

  describe('retention', () => {
    it('deletes ended events older than the cut, oldest first, never open ones, and names their snapshots', async () => {
      const store = new SqliteEventStore({ path: ':memory:' });
      await store.open();
      const ids = new EventIdFactory();
      const now = T0 + 40 * DAY;
      const old = [0, 1, 2].map((d) => makeEvent(ids, T0 + d * DAY, { snapshot: { path: `cam/day${d}.jpg`, bytes: 10 } }));
      const oldOpen = makeEvent(ids, T0 + 3 * DAY, { endMs: null, endReason: null });
      const recent = makeEvent(ids, now - DAY);
      for (const event of [...old, oldOpen, recent]) await store.writeBatch([{ op: 'upsert', event }]);
      const result = await store.applyRetention({ startedBeforeMs: now - 30 * DAY, maxBytes: 0 });
      assert.deepEqual(result, { deleted: 3, snapshotPaths: ['cam/day0.jpg', 'cam/day1.jpg', 'cam/day2.jpg'] });
      const left = (await store.query({ limit: 10 })).events.map((e) => e.id);
      assert.deepEqual(left, [recent.id, oldOpen.id]);
      await store.close();
    });

    it('deletes the oldest ended events until database and snapshots fit maxBytes', async () => {
      const store = new SqliteEventStore({ path: join(dir, 'size.sqlite') });
      await store.open();
      const ids = new EventIdFactory();
      const events = Array.from({ length: 200 }, (_, i) => makeEvent(ids, T0 + i * 1000, { snapshot: { path: `cam/${i}.jpg`, bytes: 50_000 } }));
      await store.writeBatch(events.map((event) => ({ op: 'upsert' as const, event })));
      const before = await store.sizeBytes();
      assert.ok(before > 200 * 50_000);
      const maxBytes = 100 * 50_000;
      const result = await store.applyRetention({ startedBeforeMs: 0, maxBytes });
      assert.ok(await store.sizeBytes() <= maxBytes, `${await store.sizeBytes()} > ${maxBytes}`);
      assert.ok(result.deleted > 100 && result.deleted < 110, `deleted ${result.deleted}`);
      assert.deepEqual(result.snapshotPaths, events.slice(0, result.deleted).map((e) => e.snapshot!.path), 'oldest first');
      const kept = (await store.query({ limit: 500 })).events;
      assert.equal(kept.at(-1)!.id, events[result.deleted]!.id);
      await store.close();
    });
  });
});
