/**
 * What every EventStore must do, as one suite run against each backend (SQLite by default,
 * PostgreSQL for the cluster): restart closing, snapshots kept through upserts, relabelling (the
 * gallery's renames and deletions), the query API's filters and keyset pages, and retention by age
 * and by size.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventIdFactory } from '../../../server/events/event-id.ts';
import type { EventRecord } from '../../../server/events/event-record.ts';
import type { EventQuery, EventStore } from '../../../server/events/event-store.ts';
import { makeEvent, T0 } from './event-fixtures.ts';

const DAY = 86_400_000;

/**
 * StoreFactory makes a store (not yet open) on the database named `name`, writing as node
 * `nodeId` (the backend's default when absent): two calls with one name see the same data (a
 * restart); different names start empty.
 */
export type StoreFactory = (name: string, nodeId?: string) => Promise<EventStore>;

/** eventStoreContract registers the shared suite; `make` is called inside the tests only. */
export function eventStoreContract(make: StoreFactory): void {
  it('ends the events a previous run left open as server_restart, at their last sighting', async () => {
    const ids = new EventIdFactory();
    const store = await make('restart');
    await store.open();
    const open = makeEvent(ids, T0, { endMs: null, endReason: null, lastSeenMs: T0 + 1234 });
    const ended = makeEvent(ids, T0 + 1);
    await store.writeBatch([{ op: 'upsert', event: open }, { op: 'upsert', event: ended }]);
    await store.close();
    const next = await make('restart');
    assert.deepEqual(await next.open(), { closedOnRestart: 1 });
    assert.deepEqual(await next.get(open.id), { ...open, endMs: T0 + 1234, endReason: 'server_restart' });
    assert.deepEqual(await next.get(ended.id), ended);
    await next.close();
  });

  it('lists the node with open events and closes its open events at their last sighting, each once', async () => {
    const ids = new EventIdFactory();
    const store = await make('node-events', 'node-a');
    await store.open();
    assert.deepEqual(await store.openEventNodes(), []);
    const open = [
      makeEvent(ids, T0, { endMs: null, endReason: null, lastSeenMs: T0 + 700 }),
      makeEvent(ids, T0 + 5, { endMs: null, endReason: null, lastSeenMs: T0 + 900, streamKey: 'door', snapshot: { path: 'door/x.jpg', bytes: 9 } }),
    ];
    const ended = makeEvent(ids, T0 + 1);
    await store.writeBatch([...open, ended].map((event) => ({ op: 'upsert' as const, event })));
    assert.deepEqual(await store.openEventNodes(), ['node-a']);
    assert.deepEqual(await store.closeNodeEvents('node-gone', 'node_lost'), [], 'another node\'s events: none here');
    assert.deepEqual(await store.openEventNodes(), ['node-a']);
    const closed = open.map((e) => ({ ...e, endMs: e.lastSeenMs, endReason: 'node_lost' as const }));
    assert.deepEqual(await store.closeNodeEvents('node-a', 'node_lost'), closed);
    assert.deepEqual(await store.closeNodeEvents('node-a', 'node_lost'), [], 'a second sweep closes nothing');
    assert.deepEqual(await store.openEventNodes(), []);
    for (const e of closed) assert.deepEqual(await store.get(e.id), e);
    assert.deepEqual(await store.get(ended.id), ended, 'an ended event is left as it was');
    await store.close();
  });

  it('keeps a snapshot through later upserts that carry none, in one batch and across batches', async () => {
    const store = await make('snapshot');
    await store.open();
    const ids = new EventIdFactory();
    const e = makeEvent(ids, T0, { endMs: null, endReason: null });
    await store.writeBatch([{ op: 'upsert', event: e }, { op: 'snapshot', id: e.id, path: 'cam/2025-01-02/x.jpg', bytes: 1234 }]);
    await store.writeBatch([{ op: 'upsert', event: { ...e, frameCount: 99, endMs: T0 + 5, endReason: 'stream_ended' } }]);
    const got = await store.get(e.id);
    assert.deepEqual(got?.snapshot, { path: 'cam/2025-01-02/x.jpg', bytes: 1234 });
    assert.equal(got?.frameCount, 99);
    assert.equal(got?.endReason, 'stream_ended');
    assert.deepEqual(await store.delete(e.id), got);
    assert.equal(await store.get(e.id), undefined);
    assert.equal(await store.delete(e.id), undefined);
    // One batch: the same event upserted three times around a snapshot, as a busy writer sends it.
    const f = makeEvent(ids, T0 + 10, { endMs: null, endReason: null });
    await store.writeBatch([
      { op: 'upsert', event: f }, { op: 'upsert', event: { ...f, frameCount: 2 } },
      { op: 'snapshot', id: f.id, path: 'cam/f.jpg', bytes: 10 }, { op: 'snapshot', id: f.id, path: 'cam/f2.jpg', bytes: 20 },
      { op: 'upsert', event: { ...f, frameCount: 3 } }, { op: 'upsert', event: { ...f, frameCount: 4, endMs: T0 + 20, endReason: 'track_lost' } },
    ]);
    assert.deepEqual(await store.get(f.id), { ...f, frameCount: 4, endMs: T0 + 20, endReason: 'track_lost', snapshot: { path: 'cam/f2.jpg', bytes: 20 } });
    await store.close();
  });

  it('relabels stored events: clears a label (a person forgotten) or renames it, exact match only', async () => {
    const ids = new EventIdFactory();
    const store = await make('relabel');
    await store.open();
    const events = [makeEvent(ids, T0, { label: 'Ann' }), makeEvent(ids, T0 + 1, { label: 'ann' }), makeEvent(ids, T0 + 2, { label: 'Bob' }), makeEvent(ids, T0 + 3)];
    await store.writeBatch(events.map((event) => ({ op: 'upsert' as const, event })));
    const labels = async () => (await store.query({ limit: 10 })).events.map((e) => e.label).reverse();
    assert.equal(await store.relabel('Ann', null), 1);
    assert.deepEqual(await labels(), [null, 'ann', 'Bob', null]);
    assert.equal(await store.relabel('Bob', 'Robert'), 1);
    assert.deepEqual(await labels(), [null, 'ann', 'Robert', null]);
    assert.equal(await store.relabel('Nobody', null), 0);
    assert.deepEqual((await store.query({ label: 'Robert', limit: 10 })).events.map((e) => e.id), [events[2]!.id]);
    await store.close();
  });

  it('writes a batch all or nothing', async () => {
    const store = await make('atomic');
    await store.open();
    const ids = new EventIdFactory();
    const good = makeEvent(ids, T0);
    const bad = { ...makeEvent(ids, T0 + 1), kind: null } as unknown as EventRecord;
    await assert.rejects(store.writeBatch([{ op: 'upsert', event: good }, { op: 'upsert', event: bad }]));
    assert.equal(await store.get(good.id), undefined);
    await store.writeBatch([{ op: 'upsert', event: good }]);
    assert.deepEqual(await store.get(good.id), good);
    await store.close();
  });

  describe('query', () => {
    let store: EventStore;
    const all: EventRecord[] = [];
    before(async () => {
      store = await make('query');
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

    async function pages(q: Omit<EventQuery, 'limit' | 'cursor'>, limit: number): Promise<EventRecord[][]> {
      const out: EventRecord[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.query({ ...q, limit, cursor });
        out.push(page.events);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    }

    const cases: [string, Omit<EventQuery, 'limit'>, (e: EventRecord) => boolean][] = [
      ['everything', {}, () => true],
      ['a stream', { streamKey: 'cam' }, (e) => e.streamKey === 'cam'],
      ['a kind', { kind: 'person' }, (e) => e.kind === 'person'],
      ['a label', { label: 'ada' }, (e) => e.label === 'ada'],
      ['a score', { minScore: 0.95 }, (e) => e.topScore >= 0.95],
      ['a time range', { afterMs: T0 + 10_000, beforeMs: T0 + 20_000 }, (e) => e.startMs >= T0 + 10_000 && e.startMs < T0 + 20_000],
      ['everything at once', { streamKey: 'door', kind: 'face', minScore: 0.5, afterMs: T0 + 5000 }, (e) => e.streamKey === 'door' && e.kind === 'face' && e.topScore >= 0.5 && e.startMs >= T0 + 5000],
    ];
    for (const [name, q, keep] of cases) {
      it(`pages through ${name}, newest first, each event once`, async () => {
        const got = await pages(q, 97);
        const expected = all.filter(keep).reverse();
        assert.ok(expected.length > 0);
        assert.deepEqual(got.flat().map((e) => e.id), expected.map((e) => e.id));
        assert.ok(got.slice(0, -1).every((p) => p.length === 97));
        assert.ok(got.at(-1)!.length <= 97 && got.at(-1)!.length > 0);
        assert.deepEqual(got.flat().find((e) => e.id === expected[0]!.id), expected[0], 'every field comes back as written');
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
      const store = await make('retention-age');
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
      const store = await make('retention-size');
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
}
