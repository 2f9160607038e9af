import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { EventWriter, MAX_BATCH_WRITES, writeErrorCause } from '../../../server/events/event-writer.ts';
import { SqliteEventStore, EVENTS_DB_FILE } from '../../../server/events/sqlite-event-store.ts';
import { EventIdFactory } from '../../../server/events/event-id.ts';
import { waitFor } from '../../helpers/server-process.ts';
import { makeEvent, T0 } from './event-fixtures.ts';

/** memoryLog is a pino logger whose lines land in `lines`. */
function memoryLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
  return { log, lines };
}

const open = (over = {}) => ({ endMs: null, endReason: null, ...over });

/** mountTmpfs mounts a tmpfs of `sizeKb` on a new folder (root only), or answers why not. */
function mountTmpfs(sizeKb: number, readOnly = false): { dir: string; unmount(): void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'events-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k${readOnly ? ',ro' : ''}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`;
  }
  return { dir, unmount: () => { execFileSync('umount', ['-l', dir]); rmSync(dir, { recursive: true, force: true }); } };
}

describe('EventWriter', () => {
  const cleanups: (() => void)[] = [];
  after(() => { for (const c of cleanups.reverse()) c(); });

  it('flushes on its timer in one transaction: every write lands', async () => {
    const store = new SqliteEventStore({ path: ':memory:' });
    const { log } = memoryLog();
    const writer = new EventWriter(store, { flushIntervalMs: 20, maxQueue: 100 }, log);
    await writer.start();
    const ids = new EventIdFactory();
    const events = Array.from({ length: 30 }, (_, i) => makeEvent(ids, T0 + i));
    for (const event of events) writer.enqueue({ op: 'upsert', event });
    await waitFor('the timer to flush', () => writer.depth === 0 && writer.writesDone === 30, 5000, 10);
    assert.equal((await store.query({ limit: 100 })).events.length, 30);
    await writer.close();
    await store.close();
  });

  it('when full, merges queued writes of the same event (newest wins), drops only updates, keeps starts and ends', async () => {
    const store = new SqliteEventStore({ path: ':memory:' });
    const { log } = memoryLog();
    const writer = new EventWriter(store, { flushIntervalMs: 60_000, maxQueue: 4 }, log);
    await writer.start();
    const ids = new EventIdFactory();
    const a = makeEvent(ids, T0, open());
    const b = makeEvent(ids, T0 + 1, open());
    writer.enqueue({ op: 'upsert', event: a });
    writer.enqueue({ op: 'upsert', event: b });
    for (let i = 2; i <= 40; i++) {
      writer.enqueue({ op: 'upsert', event: { ...a, frameCount: i } }, false);
      writer.enqueue({ op: 'upsert', event: { ...b, frameCount: i } }, false);
      assert.ok(writer.depth <= 4, `depth ${writer.depth}`);
    }
    assert.equal(writer.droppedUpdates, 0, 'merged, not dropped');
    // Full of four other events' starts: an update of a fifth is dropped, a start or an end is kept.
    writer.enqueue({ op: 'snapshot', id: a.id, path: 'cam/a.jpg', bytes: 5 });
    const c = makeEvent(ids, T0 + 2, open());
    const d = makeEvent(ids, T0 + 3, open());
    writer.enqueue({ op: 'upsert', event: c });
    writer.enqueue({ op: 'upsert', event: { ...d, frameCount: 7 } }, false);
    assert.equal(writer.droppedUpdates, 1);
    writer.enqueue({ op: 'upsert', event: d });
    writer.enqueue({ op: 'upsert', event: { ...a, frameCount: 41, endMs: T0 + 9, endReason: 'track_lost' } });
    assert.equal(writer.depth, 5, 'starts and ends go past the bound');
    await writer.flush();
    assert.equal(writer.depth, 0);
    const gotA = await store.get(a.id);
    assert.equal(gotA?.frameCount, 41);
    assert.equal(gotA?.endReason, 'track_lost');
    assert.deepEqual(gotA?.snapshot, { path: 'cam/a.jpg', bytes: 5 });
    assert.equal((await store.get(b.id))?.frameCount, 40);
    assert.ok(await store.get(c.id));
    assert.equal((await store.get(d.id))?.frameCount, d.frameCount);
    await writer.close();
    await store.close();
  });

  it('a locked file (SQLITE_BUSY): logged once, counted, written once the lock goes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'events-busy-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, EVENTS_DB_FILE);
    const store = new SqliteEventStore({ path, busyTimeoutMs: 10 });
    const { log, lines } = memoryLog();
    const writer = new EventWriter(store, { flushIntervalMs: 15, maxQueue: 100 }, log);
    await writer.start();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const ids = new EventIdFactory();
    const e = makeEvent(ids, T0);
    writer.enqueue({ op: 'upsert', event: e });
    await waitFor('three failed flushes', () => writer.writeErrors >= 3, 5000, 5);
    const errors = lines.filter((l) => l.code === 'ERR_EVENT_STORE_WRITE');
    assert.equal(errors.length, 1, 'one line per cause');
    assert.equal(errors[0]!.cause, 'SQLITE_BUSY');
    assert.equal(writer.depth, 1, 'kept queued');
    other.exec('ROLLBACK');
    other.close();
    await waitFor('the write after the lock', () => writer.depth === 0, 5000, 5);
    assert.ok(lines.some((l) => l.msg === 'event store writes resumed' && l.cause === 'SQLITE_BUSY'));
    assert.deepEqual(await store.get(e.id), e);
    await writer.close();
    await store.close();
  });

  it('a read-only data folder: the store opens and writes once the folder is writable', async (t) => {
    const fs = mountTmpfs(1024, true);
    if (typeof fs === 'string') return t.skip(fs);
    cleanups.push(fs.unmount);
    const path = join(fs.dir, EVENTS_DB_FILE);
    const store = new SqliteEventStore({ path });
    const { log, lines } = memoryLog();
    let opened = 0;
    const writer = new EventWriter(store, { flushIntervalMs: 15, maxQueue: 100 }, log, () => { opened += 1; });
    await writer.start();
    assert.equal(writer.isOpen, false);
    const e = makeEvent(new EventIdFactory(), T0);
    writer.enqueue({ op: 'upsert', event: e });
    await waitFor('a few failed opens', () => writer.writeErrors >= 3, 5000, 5);
    const errors = lines.filter((l) => l.code === 'ERR_EVENT_STORE_WRITE');
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]!.cause), /SQLITE_CANTOPEN|EROFS|SQLITE_READONLY/);
    execFileSync('mount', ['-o', 'remount,rw', fs.dir]);
    await waitFor('the queued write after the remount', () => writer.depth === 0 && writer.isOpen, 5000, 5);
    assert.equal(opened, 1);
    assert.deepEqual(await store.get(e.id), e);
    assert.ok(existsSync(path));
    await writer.close();
    await store.close();
  });

  it('a full disk (SQLITE_FULL on a tiny tmpfs): logged once, counted, written once there is room', async (t) => {
    // Room for the 300 events with their indices (schema 2) once the filler is gone, and not with it.
    const fs = mountTmpfs(1024);
    if (typeof fs === 'string') return t.skip(fs);
    cleanups.push(fs.unmount);
    const store = new SqliteEventStore({ path: join(fs.dir, EVENTS_DB_FILE) });
    const { log, lines } = memoryLog();
    const writer = new EventWriter(store, { flushIntervalMs: 15, maxQueue: 10_000 }, log);
    await writer.start();
    // Fill the rest of the disk.
    const filler = join(fs.dir, 'filler');
    try { writeFileSync(filler, Buffer.alloc(2048 * 1024)); } catch { /* ENOSPC: full, as meant */ }
    const ids = new EventIdFactory();
    const events = Array.from({ length: 300 }, (_, i) => makeEvent(ids, T0 + i, { label: 'x'.repeat(200) }));
    for (const event of events) writer.enqueue({ op: 'upsert', event });
    await waitFor('failed flushes', () => writer.writeErrors >= 2, 5000, 5);
    const errors = lines.filter((l) => l.code === 'ERR_EVENT_STORE_WRITE');
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]!.cause), /SQLITE_FULL|SQLITE_IOERR/);
    rmSync(filler);
    // depth 0 is not enough: the last batch may be out of the queue and not yet committed.
    await waitFor('the writes after the room came back', async () => writer.depth === 0 && (await store.query({ limit: 500 })).events.length === 300, 10_000, 10);
    assert.ok(lines.some((l) => l.msg === 'event store writes resumed'));
    await writer.close();
    await store.close();
  });

  it('writes a long queue in transactions of at most MAX_BATCH_WRITES, merged per event, the event loop running between them', async () => {
    const sizes: number[] = [];
    let ticksBetween = 0;
    class CountingStore extends SqliteEventStore {
      override async writeBatch(writes: Parameters<SqliteEventStore['writeBatch']>[0]): Promise<void> {
        sizes.push(writes.length);
        // A callback queued now runs before the next transaction only if the writer yields.
        setImmediate(() => { ticksBetween += 1; });
        return super.writeBatch(writes);
      }
    }
    const store = new CountingStore({ path: ':memory:' });
    const { log } = memoryLog();
    const writer = new EventWriter(store, { flushIntervalMs: 60_000, maxQueue: 10_000 }, log);
    await writer.start();
    const ids = new EventIdFactory();
    const events = Array.from({ length: 2 * MAX_BATCH_WRITES + 100 }, (_, i) => makeEvent(ids, T0 + i, open()));
    for (const event of events) writer.enqueue({ op: 'upsert', event });
    // Their ends: the same events again, merged into the queued writes.
    for (const event of events) writer.enqueue({ op: 'upsert', event: { ...event, endMs: event.startMs + 1000, endReason: 'track_lost' } });
    await writer.flush();
    assert.deepEqual(sizes, [MAX_BATCH_WRITES, MAX_BATCH_WRITES, 100]);
    assert.ok(ticksBetween >= 2, `the event loop ran between transactions (${ticksBetween})`);
    const page = await store.query({ limit: 500 });
    assert.ok(page.events.every((e) => e.endReason === 'track_lost'), 'the newest write of each event won');
    await writer.close();
    await store.close();
  });

  it('maps error codes to causes', () => {
    const cases: [unknown, string][] = [
      [{ code: 'SQLITE_FULL' }, 'SQLITE_FULL'], [{ code: 'SQLITE_READONLY_DBMOVED' }, 'SQLITE_READONLY'],
      [{ code: 'SQLITE_IOERR_WRITE' }, 'SQLITE_IOERR'], [{ code: 'ENOSPC' }, 'ENOSPC'], [{ code: 'SQLITE_BUSY' }, 'SQLITE_BUSY'],
      [new Error('x'), 'other'], [{ code: 'EWEIRD' }, 'EWEIRD'],
    ];
    for (const [err, cause] of cases) assert.equal(writeErrorCause(err), cause);
  });
});
