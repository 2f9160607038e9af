/**
 * Issue #20, fault tests: the data folder (events.sqlite and the snapshots) on a tiny real tmpfs.
 * Full: a filler file takes every free byte while a stream with a face makes events; a second
 * stream's face appears while the disk is full. Read-only: the server starts on a tmpfs mounted
 * read-only, so the store can not even be created. Either way the streams keep sending frames,
 * each cause is logged once, `livematte_events_write_errors_total` counts, `/healthz` says
 * `degraded` with the events' problem, and once there is room (the filler removed, the tmpfs
 * remounted read-write) the queued events and the snapshots kept in memory are written: the event
 * of the face that appeared on the full disk is listed with its snapshot, a JPEG of the frame.
 * Needs root (mount) and the shared footage; skipped with the reason otherwise.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { mediaFile, mediaSkip, startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { streamEntry, fillDisk } from '../helpers/fault-tools.ts';
import { connectSse, type SseClient } from '../server/events/sse-client.ts';

const isRoot = process.getuid?.() === 0;
const skip = mediaSkip || (!isRoot && 'needs root to mount a tmpfs');
const mounts: string[] = [];
const servers: ServerProcess[] = [];
const publishers: Publisher[] = [];
const feeds: SseClient[] = [];

after(async () => {
  for (const f of feeds) f.close();
  await Promise.all(publishers.map((p) => p.stop()));
  for (const s of servers) await s.stop();
  for (const m of mounts) {
    execFileSync('umount', ['-l', m]);
    rmSync(m, { recursive: true, force: true });
  }
});

interface ApiEvent { id: string; streamKey: string; kind: string; endMs: number | null; endReason: string | null; snapshot: { url: string; bytes: number } | null }

/** tmpfs mounts a fresh tmpfs of `size` (mount's syntax, e.g. `4m`) with extra options. */
function tmpfs(size: string, options = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'events-data-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${options ? `,${options}` : ''}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}


/** publishFace loops a clip with one face to `key` with `?background=off&faces=detect` (no re-encode). */
function publishFace(server: ServerProcess, key: string, clip: string): Publisher {
  const p = publish(`${server.rtmpBase}/${key}?background=off&faces=detect`, ['-stream_loop', '-1', '-i', mediaFile(clip)], ['-c', 'copy']);
  publishers.push(p);
  return p;
}

async function metric(server: ServerProcess, name: string): Promise<number | undefined> {
  const body = await (await fetch(`${server.httpBase}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}
const health = async (server: ServerProcess) => (await (await fetch(`${server.httpBase}/healthz`)).json()) as { status: string; problems?: string[]; events?: Record<string, unknown> };
const framesOut = async (server: ServerProcess, key: string) => Number((await streamEntry(server.httpBase, key))?.stats.framesOut ?? 0);
const eventsOf = async (server: ServerProcess, key: string) => {
  const res = await fetch(`${server.httpBase}/api/events?stream=${key}`);
  return res.status === 200 ? ((await res.json()) as { events: ApiEvent[] }).events : undefined;
};

/** keepsSending waits until every stream sent `frames` more frames than now. */
async function keepsSending(server: ServerProcess, keys: string[], frames: number): Promise<void> {
  const from = await Promise.all(keys.map((k) => framesOut(server, k)));
  await waitFor(`${keys.join(', ')}: ${frames} more frames out`, async () => {
    const now = await Promise.all(keys.map((k) => framesOut(server, k)));
    return now.every((n, i) => n >= from[i]! + frames);
  }, 30_000, 250);
}

/** snapshotOk fetches an event's snapshot and checks it is a JPEG of the 640x480 frame. */
async function snapshotOk(server: ServerProcess, e: ApiEvent): Promise<void> {
  const res = await fetch(server.httpBase + e.snapshot!.url);
  assert.equal(res.status, 200);
  const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 640, 480]);
}

/** linesByCause counts the log lines with message `msg`, by their `cause`. */
function linesByCause(server: ServerProcess, msg: string, from = 0): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of server.logs.slice(from)) if (l.msg === msg) out[String(l.cause)] = (out[String(l.cause)] ?? 0) + 1;
  return out;
}

const STORE_FAILED = 'writing events failed; they stay queued and are written again once the cause is gone';
const OPEN_FAILED = 'the event store can not be opened; events are kept in memory and it is tried again';
const SNAPSHOT_FAILED = 'writing a snapshot failed; it is kept in memory and written again once the data folder takes it';

test('a full data folder: streams go on, each cause logged once and counted, events and snapshots written once there is room', { skip, timeout: 180_000 }, async (t) => {
  const dataDir = tmpfs('4m');
  const server = await startServerOnFreePorts(['--data-dir', dataDir], { LIVEMATTE_LOG_LEVEL: 'info' });
  servers.push(server);
  const live = await connectSse(`${server.httpBase}/api/events/live`);
  feeds.push(live);
  const before = uniqueKey('before');
  publishFace(server, before, 'sister.mkv');
  const first = await waitFor('the first face event stored with its snapshot', async () => (await eventsOf(server, before))?.find((e) => e.kind === 'face' && e.snapshot), 60_000, 250);
  await snapshotOk(server, first);
  assert.equal((await health(server)).status, 'ok');
  assert.equal(await metric(server, 'livematte_events_write_errors_total'), 0);

  const filled = fillDisk(join(dataDir, 'filler.bin'));
  const fullAt = Date.now();
  t.diagnostic(`filler: ${(filled / 1048576).toFixed(2)} MiB until ENOSPC`);
  // A face appears while the disk is full: its start goes out on the live feed, its writes and
  // its snapshot wait in memory.
  const during = uniqueKey('during');
  const duringPublisher = publishFace(server, during, 'again.mkv');
  const started = await live.next((m) => m.event === 'start' && (m.data as ApiEvent).streamKey === during, 60_000);
  const id = (started.data as ApiEvent).id;
  const storeLine = await server.waitForLog((l) => l.msg === STORE_FAILED, 30_000);
  const snapshotLine = await server.waitForLog((l) => l.msg === SNAPSHOT_FAILED, 30_000);
  t.diagnostic(`store: ${storeLine.cause} (${storeLine.err}) ${Number(storeLine.time ?? Date.now()) - fullAt} ms after the fill; snapshot: ${snapshotLine.cause} (${snapshotLine.err})`);
  assert.equal(storeLine.code, 'ERR_EVENT_STORE_WRITE');
  assert.equal(snapshotLine.code, 'ERR_SNAPSHOT_WRITE');
  assert.equal(snapshotLine.cause, 'ENOSPC');
  const degraded = await waitFor('/healthz degraded', async () => { const h = await health(server); return h.status === 'degraded' && h; }, 10_000, 200);
  t.diagnostic(`healthz while full: ${JSON.stringify(degraded)}`);
  assert.ok(degraded.problems?.some((p) => p.startsWith('event store writes failing')), 'the store named');
  assert.ok(degraded.problems?.some((p) => p.startsWith('snapshot files can not be written')), 'the snapshots named');
  assert.equal(degraded.events?.writing, false);

  // Streams go on while full (both, the earlier one too); the failures keep being counted.
  await keepsSending(server, [before, during], 60);
  const errorsWhileFull = await metric(server, 'livematte_events_write_errors_total');
  assert.ok(errorsWhileFull! >= 2, `write errors counted: ${errorsWhileFull}`);
  await waitFor('more failed writes counted', async () => (await metric(server, 'livematte_events_write_errors_total'))! > errorsWhileFull!, 10_000, 200);
  // The face leaves (its publisher stops): its end is queued too.
  await duringPublisher.stop();
  await live.next((m) => m.event === 'end' && (m.data as ApiEvent).id === id, 15_000);
  assert.equal((await eventsOf(server, during))?.find((e) => e.id === id), undefined, 'not in the store while full');
  const storeCauses = linesByCause(server, STORE_FAILED);
  const snapshotCauses = linesByCause(server, SNAPSHOT_FAILED);
  t.diagnostic(`log lines while full: store ${JSON.stringify(storeCauses)}, snapshots ${JSON.stringify(snapshotCauses)}`);
  for (const [cause, n] of Object.entries({ ...storeCauses, ...snapshotCauses })) assert.equal(n, 1, `${cause}: logged once`);

  // Room again.
  rmSync(join(dataDir, 'filler.bin'));
  const freedAt = Date.now();
  const stored = await waitFor('the full disk\'s event written, ended, with its snapshot', async () => {
    const e = (await eventsOf(server, during))?.find((x) => x.id === id);
    return e?.endReason === 'stream_ended' && e.snapshot ? e : undefined;
  }, 30_000, 200);
  t.diagnostic(`written ${Date.now() - freedAt} ms after the space returned`);
  await snapshotOk(server, stored);
  await server.waitForLog((l) => l.msg === 'event store writes resumed', 10_000);
  await server.waitForLog((l) => l.msg === 'snapshot writes resumed', 10_000);
  await waitFor('/healthz ok again', async () => (await health(server)).status === 'ok', 10_000, 200);
  assert.equal((await health(server)).events?.unwrittenSnapshots, 0);
  assert.equal((await streamEntry(server.httpBase, before))?.state, 'live');
  await keepsSending(server, [before], 30);
  const open = (await eventsOf(server, before))!.filter((e) => e.kind === 'face' && e.endMs === null);
  assert.ok(open.length >= 1, 'the earlier stream\'s face event is still open and stored');
});

test('a read-only data folder at start: the store is retried, streams run, events written once it is writable', { skip, timeout: 180_000 }, async (t) => {
  const dataDir = tmpfs('4m', 'ro');
  const server = await startServerOnFreePorts(['--data-dir', dataDir], { LIVEMATTE_LOG_LEVEL: 'info' });
  servers.push(server);
  const openLine = await server.waitForLog((l) => l.msg === OPEN_FAILED, 10_000);
  t.diagnostic(`open failed: ${openLine.cause} (${openLine.err})`);
  const unavailable = await fetch(`${server.httpBase}/api/events`);
  assert.equal(unavailable.status, 503);
  assert.equal(((await unavailable.json()) as { error: string }).error, 'ERR_EVENT_STORE_UNAVAILABLE');
  const live = await connectSse(`${server.httpBase}/api/events/live`);
  feeds.push(live);
  const key = uniqueKey('ro');
  publishFace(server, key, 'sister.mkv');
  const started = await live.next((m) => m.event === 'start' && (m.data as ApiEvent).streamKey === key, 60_000);
  const id = (started.data as ApiEvent).id;
  const snapshotLine = await server.waitForLog((l) => l.msg === SNAPSHOT_FAILED, 30_000);
  // Node's recursive mkdir on a read-only file system reports ENOENT for the folder it could not make (measured).
  assert.ok(['EROFS', 'ENOENT'].includes(String(snapshotLine.cause)), `snapshot cause ${snapshotLine.cause}`);
  const degraded = await health(server);
  assert.equal(degraded.status, 'degraded');
  assert.ok(degraded.problems?.some((p) => p.startsWith('event store can not be opened')), JSON.stringify(degraded));
  await keepsSending(server, [key], 60);
  assert.ok((await metric(server, 'livematte_events_write_errors_total'))! >= 2);
  const causes = { ...linesByCause(server, OPEN_FAILED), ...linesByCause(server, SNAPSHOT_FAILED) };
  t.diagnostic(`log lines while read-only: ${JSON.stringify(causes)}`);
  for (const [cause, n] of Object.entries(causes)) assert.equal(n, 1, `${cause}: logged once`);

  execFileSync('mount', ['-o', 'remount,rw', dataDir]);
  const stored = await waitFor('the event written with its snapshot once writable', async () => (await eventsOf(server, key))?.find((e) => e.id === id && e.snapshot), 30_000, 200);
  assert.equal(stored.endMs, null, 'still open: the face is in view');
  await snapshotOk(server, stored);
  await server.waitForLog((l) => l.msg === 'event store open', 10_000);
  await waitFor('/healthz ok again', async () => (await health(server)).status === 'ok', 10_000, 200);
  assert.equal((await streamEntry(server.httpBase, key))?.state, 'live');
});
