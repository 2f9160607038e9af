/**
 * Benchmark of the event store (issue #20), two parts:
 *
 * 1. Inserts beside live streams: the real server in this process (server/app.ts `start`, so the
 *    events' writer shares the main thread with the frame path, as in production) with 3 real
 *    ffmpeg publishers of 720p30 H.264; output fps of each stream in a window without inserts,
 *    then while `--events` events (default 100,000) go through the real path: `detections` on the
 *    stream registry (as the pipeline emits them) -> tracker -> batched writer -> SQLite, each event
 *    started and ended (two upserts). The detections come in ticks of `--batch` new confirmed
 *    tracks every 10 ms of wall clock (default 20: 2,000 events/s), on a stream key of their own
 *    with its PTS 2 s apart per tick, so each tick's tracks end on the next (trackLostMs 1000).
 * 2. Queries: a SqliteEventStore with `--rows` events (default 1,000,000: 10 streams, face 70 % /
 *    person 30 %, label on 10 % from 20 names, scores uniform 0.30..1.00, starts over 30 days),
 *    filled through writeBatch; then p50/p95 of pages of 100 (the API's default) for the filters
 *    the player uses: stream + kind + minScore, label, label + stream, stream only, with random
 *    values, first pages and pages from a cursor at a random time. The goal is p95 < 20 ms.
 *
 * Prints a markdown section and, last, one line `store-json {...}` (read by bench/run-all.ts).
 *
 * Flags: --quick (10,000 events, 100,000 rows, 8 s windows), --events <n>, --batch <n>,
 * --rows <n>, --queries <n> per filter (default 300), --window-seconds <s> (default 20),
 * --mode <cost mode> of the streams (default none: bg=none; see COST_MODES), --only inserts|queries.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { start, type RunningServer } from '../server/app.ts';
import { resolveConfig } from '../server/config.ts';
import { createLogger } from '../server/logger.ts';
import type { Detection, DetectionsEvent } from '../server/pipeline/detections-event.ts';
import { EventIdFactory } from '../server/events/event-id.ts';
import type { EventRecord } from '../server/events/event-record.ts';
import type { EventQuery } from '../server/events/event-store.ts';
import { EVENTS_DB_FILE, SqliteEventStore } from '../server/events/sqlite-event-store.ts';
import { publish, type Publisher } from '../test/helpers/ffmpeg-tools.ts';
import { waitFor } from '../test/helpers/server-process.ts';
import { COST_MODES, FPS, HEIGHT, WIDTH, log, prepareInput, sleep } from './pipeline.bench.ts';

const argv = process.argv.slice(2);
const has = (f: string) => argv.includes(f);
const num = (f: string, d: number) => { const i = argv.indexOf(f); return i >= 0 ? Number(argv[i + 1]) : d; };
const str = (f: string, d: string) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1]! : d; };
const QUICK = has('--quick');
const ONLY = str('--only', '');
const O = {
  events: num('--events', QUICK ? 10_000 : 100_000),
  batch: num('--batch', 20),
  rows: num('--rows', QUICK ? 100_000 : 1_000_000),
  queries: num('--queries', QUICK ? 100 : 300),
  windowS: num('--window-seconds', QUICK ? 8 : 20),
  warmupS: QUICK ? 4 : 8,
  mode: str('--mode', 'none'),
  streams: 3,
};
if (!(O.mode in COST_MODES)) throw new Error(`--mode ${O.mode}: expected one of ${Object.keys(COST_MODES).join('|')}`);
const TICK_MS = 10;
const QUERY_GOAL_MS = 20;
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

/** A deterministic generator (mulberry32), so every run fills and asks the same. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- 1. inserts beside live streams

interface StreamFps { key: string; fps: number; dropped: number }
interface InsertResult {
  without: StreamFps[];
  with: StreamFps[];
  events: number;
  insertSeconds: number;
  eventsPerSecond: number;
  /** Longest gap between two ticks of the feeding timer (ms): how long the main thread stalled at worst. */
  maxTickGapMs: number;
  maxQueueDepth: number;
  /** Synchronous time of one tick's `detections` emit (tracker, queueing, live feed), ms: mean and max. */
  emitMs: { mean: number; max: number };
  /** One transaction of the store (writeBatch, on the main thread), ms: mean and max, and how many. */
  transactionMs: { mean: number; max: number; count: number };
  writeErrors: number;
  stored: number;
  dbBytes: number;
}

async function streamStats(base: string): Promise<Map<string, { framesOut: number; droppedFrames: number }>> {
  const body = (await (await fetch(`${base}/api/streams`)).json()) as { streams: { key: string; stats: { framesOut: number; droppedFrames: number } }[] };
  return new Map(body.streams.map((s) => [s.key, s.stats]));
}

/** measureFps samples the streams' output over `seconds` (or until `until` resolves, if given). */
async function measureFps(base: string, keys: string[], seconds: number, until?: Promise<unknown>): Promise<StreamFps[]> {
  const a = await streamStats(base);
  const t0 = performance.now();
  if (until) await until; else await sleep(seconds * 1000);
  const b = await streamStats(base);
  const dt = (performance.now() - t0) / 1000;
  return keys.map((key) => ({
    key,
    fps: ((b.get(key)?.framesOut ?? 0) - (a.get(key)?.framesOut ?? 0)) / dt,
    dropped: (b.get(key)?.droppedFrames ?? 0) - (a.get(key)?.droppedFrames ?? 0),
  }));
}

/** feedEvents emits `total` events' detections on the registry, `batch` new tracks per TICK_MS tick. */
function feedEvents(server: RunningServer, total: number, batch: number, onTick: (gapMs: number, emitMs: number) => void): Promise<void> {
  const key = 'bench-store-events';
  let tick = 0;
  let made = 0;
  let nextTrack = 1;
  let last = performance.now();
  const cols = 5;
  const w = 1280 / cols;
  const h = 720 / Math.ceil(batch / cols);
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const gap = now - last;
      last = now;
      const n = Math.min(batch, total - made);
      const detections: Detection[] = Array.from({ length: n }, (_, i) => ({
        kind: i % 3 === 0 ? 'person' : 'face', trackId: nextTrack++, score: 0.3 + ((made + i) % 70) / 100,
        box: { x: (i % cols) * w + 8, y: Math.floor(i / cols) * h + 8, width: w - 16, height: h - 16 }, confirmed: true, detected: true,
      }));
      made += n;
      const event: DetectionsEvent = { streamKey: key, streamPath: `/live/${key}`, frameIndex: tick, ptsMs: tick * 2000, wallClockMs: Date.now(), width: 1280, height: 720, detections };
      tick += 1;
      server.registry.emit('detections', event);
      onTick(gap, performance.now() - now);
      if (made >= total) {
        clearInterval(timer);
        // One empty frame past trackLostMs ends the last tick's tracks.
        server.registry.emit('detections', { ...event, frameIndex: tick, ptsMs: tick * 2000, wallClockMs: Date.now(), detections: [] });
        resolve();
      }
    }, TICK_MS);
  });
}

async function measureInserts(): Promise<InsertResult> {
  const input = await prepareInput();
  const dir = mkdtempSync(join(tmpdir(), 'store-bench-'));
  const config = resolveConfig({
    cli: { bind: '127.0.0.1', rtmp: { port: 0 }, http: { port: 0 }, mediaRoot: join(dir, 'media'), dataDir: join(dir, 'data') },
  });
  const server = await start(config, createLogger('warn'));
  const base = `http://127.0.0.1:${server.httpPort}`;
  const keys = Array.from({ length: O.streams }, (_, i) => `store-${i}`);
  const publishers: Publisher[] = keys.map((k) => publish(`rtmp://127.0.0.1:${server.rtmpPort}/live/${k}?${COST_MODES[O.mode]}`, ['-stream_loop', '-1', '-i', input.path], ['-c', 'copy']));
  try {
    await waitFor(`streams ${keys.join(',')} live`, async () => {
      const s = await streamStats(base);
      return keys.every((k) => (s.get(k)?.framesOut ?? 0) > 10);
    }, 90_000, 500);
    log(`store: ${O.streams} streams of ${WIDTH}x${HEIGHT}@${FPS} (${COST_MODES[O.mode]}) live; warm-up ${O.warmupS} s`);
    await sleep(O.warmupS * 1000);
    const without = await measureFps(base, keys, O.windowS);
    log(`store: without inserts: ${without.map((s) => f1(s.fps)).join('/')} fps, dropped ${without.map((s) => s.dropped).join('/')}`);
    let maxGap = 0;
    let maxDepth = 0;
    const emits: number[] = [];
    // The store's transactions, timed where they run (the writer calls writeBatch on this thread).
    const store = (server.events as unknown as { store: SqliteEventStore }).store;
    const original = store.writeBatch.bind(store);
    const transactions: number[] = [];
    store.writeBatch = async (writes) => { const a = performance.now(); try { return await original(writes); } finally { transactions.push(performance.now() - a); } };
    const depthTimer = setInterval(() => { maxDepth = Math.max(maxDepth, server.events!.queueDepth()); }, 50);
    const t0 = performance.now();
    const feeding = feedEvents(server, O.events, O.batch, (gap, emitMs) => { maxGap = Math.max(maxGap, gap); emits.push(emitMs); });
    const during = await measureFps(base, keys, 0, feeding);
    const insertSeconds = (performance.now() - t0) / 1000;
    clearInterval(depthTimer);
    log(`store: with ${O.events} events in ${f1(insertSeconds)} s: ${during.map((s) => f1(s.fps)).join('/')} fps, dropped ${during.map((s) => s.dropped).join('/')}`);
    await waitFor('the write queue drained', () => server.events!.queueDepth() === 0, 60_000, 100);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const db = new Database(join(dir, 'data', EVENTS_DB_FILE), { readonly: true });
    const stored = (db.prepare("SELECT COUNT(*) AS n FROM events WHERE stream_key = 'bench-store-events' AND end_ms IS NOT NULL").get() as { n: number }).n;
    db.close();
    return {
      without, with: during, events: O.events, insertSeconds, eventsPerSecond: O.events / insertSeconds, maxTickGapMs: maxGap, maxQueueDepth: maxDepth,
      emitMs: { mean: mean(emits), max: Math.max(...emits) }, transactionMs: { mean: mean(transactions), max: Math.max(...transactions), count: transactions.length },
      writeErrors: server.events!.writeErrors(), stored, dbBytes: statSync(join(dir, 'data', EVENTS_DB_FILE)).size,
    };
  } finally {
    await Promise.all(publishers.map((p) => p.stop()));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- 2. queries on a full table

const STREAMS = Array.from({ length: 10 }, (_, i) => `cam-${i}`);
const LABELS = Array.from({ length: 20 }, (_, i) => `person-${i}`);
const DAY_MS = 86_400_000;

interface QueryRow { name: string; median: number; p95: number; max: number; rowsReturned: number; plan: string }
interface QueryResult { rows: number; fillSeconds: number; dbBytes: number; queries: QueryRow[] }

async function measureQueries(): Promise<QueryResult> {
  const dir = mkdtempSync(join(tmpdir(), 'store-bench-q-'));
  const path = join(dir, EVENTS_DB_FILE);
  const store = new SqliteEventStore({ path });
  await store.open();
  try {
    const random = rng(20);
    const ids = new EventIdFactory();
    const t0Ms = Date.UTC(2026, 10, 1);
    const t0 = performance.now();
    const BATCH = 10_000;
    // Start times rise through the fill (as live events do), over 30 days.
    for (let done = 0; done < O.rows; done += BATCH) {
      const batch: EventRecord[] = [];
      for (let i = done; i < Math.min(O.rows, done + BATCH); i++) {
        const startMs = t0Ms + Math.floor((i / O.rows) * 30 * DAY_MS);
        const score = 0.3 + random() * 0.7;
        batch.push({
          id: ids.next(startMs), streamKey: STREAMS[Math.floor(random() * STREAMS.length)]!, kind: random() < 0.7 ? 'face' : 'person',
          label: random() < 0.1 ? LABELS[Math.floor(random() * LABELS.length)]! : null, labelScore: null, trackId: i,
          startMs, endMs: startMs + 5000, endReason: 'track_lost', firstPtsMs: 0, lastPtsMs: 5000, lastSeenMs: startMs + 5000, frameCount: 150,
          topScore: Math.round(score * 1000) / 1000, topPtsMs: 1000, box: { x: 100, y: 80, width: 120, height: 160 },
          boxRelative: { x: 0.078, y: 0.111, width: 0.094, height: 0.222 }, frameWidth: 1280, frameHeight: 720,
          snapshot: { path: `cam/2026-11-01/${i}.jpg`, bytes: 20_000 },
        });
      }
      await store.writeBatch(batch.map((event) => ({ op: 'upsert', event })));
    }
    const fillSeconds = (performance.now() - t0) / 1000;
    log(`store: ${O.rows} events written in ${f1(fillSeconds)} s`);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const cursorAt = () => ids.next(t0Ms + Math.floor(random() * 30 * DAY_MS));
    const filters: { name: string; make: () => EventQuery }[] = [
      { name: 'stream + kind + minScore', make: () => ({ streamKey: pick(STREAMS), kind: pick(['face', 'person'] as const), minScore: pick([0.5, 0.8, 0.9, 0.95, 0.99]), limit: 100 }) },
      { name: 'stream + kind + minScore, from a cursor', make: () => ({ streamKey: pick(STREAMS), kind: pick(['face', 'person'] as const), minScore: pick([0.5, 0.8, 0.9, 0.95, 0.99]), limit: 100, cursor: cursorAt() }) },
      { name: 'label', make: () => ({ label: pick(LABELS), limit: 100 }) },
      { name: 'label + stream', make: () => ({ label: pick(LABELS), streamKey: pick(STREAMS), limit: 100 }) },
      { name: 'label + stream + kind + minScore, from a cursor', make: () => ({ label: pick(LABELS), streamKey: pick(STREAMS), kind: pick(['face', 'person'] as const), minScore: pick([0.5, 0.9]), limit: 100, cursor: cursorAt() }) },
      { name: 'stream, time range (one day)', make: () => { const a = t0Ms + Math.floor(random() * 29 * DAY_MS); return { streamKey: pick(STREAMS), afterMs: a, beforeMs: a + DAY_MS, limit: 100 }; } },
    ];
    const plans = new Database(path, { readonly: true });
    const queries: QueryRow[] = [];
    for (const f of filters) {
      for (let i = 0; i < 10; i++) await store.query(f.make()); // warm-up
      const times: number[] = [];
      let returned = 0;
      for (let i = 0; i < O.queries; i++) {
        const q = f.make();
        const a = performance.now();
        const page = await store.query(q);
        times.push(performance.now() - a);
        returned += page.events.length;
      }
      const plan = explain(plans, f.make());
      queries.push({ name: f.name, median: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times), rowsReturned: returned / O.queries, plan });
      log(`store: query ${f.name}: median ${f2(percentile(times, 50))} ms, p95 ${f2(percentile(times, 95))} ms (${plan})`);
    }
    plans.close();
    return { rows: O.rows, fillSeconds, dbBytes: statSync(path).size, queries };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** explain is SQLite's query plan for a query as SqliteEventStore builds it (the indices it uses; keep in step with its query()). */
function explain(db: Database.Database, q: EventQuery): string {
  const where: string[] = [];
  if (q.streamKey !== undefined) where.push(`stream_key = '${q.streamKey}'`);
  if (q.kind !== undefined) where.push(`kind = '${q.kind}'`);
  if (q.label !== undefined) where.push(`label = '${q.label}'`);
  if (q.afterMs !== undefined) where.push(`id >= 'X'`);
  if (q.beforeMs !== undefined) where.push(`id < 'Y'`);
  if (q.cursor !== undefined) where.push(`id < '${q.cursor}'`);
  if (q.minScore !== undefined) where.push(`top_score >= ${q.minScore}`);
  const rows = db.prepare(`EXPLAIN QUERY PLAN SELECT * FROM events WHERE id IN (SELECT id FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT 101) ORDER BY id DESC`).all() as { detail: string }[];
  return rows.map((r) => r.detail).join('; ');
}

// ---------------------------------------------------------------- run and report

const machine = `machine: ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (at start), node ${process.version}, ${new Date().toISOString()}${QUICK ? ', --quick' : ''}`;
log(machine);
const inserts = ONLY === 'queries' ? undefined : await measureInserts();
const queries = ONLY === 'inserts' ? undefined : await measureQueries();

const out: string[] = [];
out.push('### Event store (bench/store.bench.ts)', '', `${machine}; load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`, '');
if (inserts) {
  const mean = (xs: StreamFps[]) => xs.reduce((s, x) => s + x.fps, 0) / xs.length;
  out.push(`Inserts beside ${O.streams} live streams (${WIDTH}x${HEIGHT} ${FPS} fps, \`${COST_MODES[O.mode]}\`, published with -re -c copy; the server in the bench's process): ${inserts.events} events (start and end each) fed as detections, ${O.batch} new tracks every ${TICK_MS} ms.`, '');
  out.push('| window | fps per stream | mean fps | dropped per stream |', '|---|---|---:|---|');
  out.push(`| without inserts (${O.windowS} s) | ${inserts.without.map((s) => f1(s.fps)).join(' / ')} | ${f1(mean(inserts.without))} | ${inserts.without.map((s) => s.dropped).join(' / ')} |`);
  out.push(`| with inserts (${f1(inserts.insertSeconds)} s) | ${inserts.with.map((s) => f1(s.fps)).join(' / ')} | ${f1(mean(inserts.with))} | ${inserts.with.map((s) => s.dropped).join(' / ')} |`, '');
  out.push(`Ratio with / without: ${f2(mean(inserts.with) / mean(inserts.without))}. ${f1(inserts.eventsPerSecond)} events/s fed; longest gap of the 10 ms feeding timer ${f1(inserts.maxTickGapMs)} ms (main-thread stall); write queue at most ${inserts.maxQueueDepth}; one tick's detections (${O.batch} starts and ${O.batch} ends) took ${f2(inserts.emitMs.mean)} ms on the main thread on average, ${f1(inserts.emitMs.max)} at most; the store's ${inserts.transactionMs.count} transactions ${f2(inserts.transactionMs.mean)} ms on average, ${f1(inserts.transactionMs.max)} at most; write errors ${inserts.writeErrors}; ${inserts.stored} ended events stored, database ${f1(inserts.dbBytes / 1048576)} MiB.`, '');
}
if (queries) {
  out.push(`Queries, ${queries.rows} events in the table (filled in ${f1(queries.fillSeconds)} s, ${f1(queries.dbBytes / 1048576)} MiB), pages of 100, ${O.queries} random queries per filter; goal p95 < ${QUERY_GOAL_MS} ms:`, '');
  out.push('| filter | median ms | p95 ms | max ms | rows per page | goal | plan |', '|---|---:|---:|---:|---:|---|---|');
  for (const q of queries.queries) out.push(`| ${q.name} | ${f2(q.median)} | ${f2(q.p95)} | ${f2(q.max)} | ${f1(q.rowsReturned)} | ${q.p95 < QUERY_GOAL_MS ? 'met' : '**missed**'} | ${q.plan} |`);
  out.push('');
}
console.log(out.join('\n'));
const json = {
  quick: QUICK,
  inserts: inserts && {
    events: inserts.events, fpsWithout: inserts.without.map((s) => Number(f2(s.fps))), fpsWith: inserts.with.map((s) => Number(f2(s.fps))),
    droppedWithout: inserts.without.map((s) => s.dropped), droppedWith: inserts.with.map((s) => s.dropped),
    eventsPerSecond: Number(f1(inserts.eventsPerSecond)), maxTickGapMs: Number(f1(inserts.maxTickGapMs)), maxQueueDepth: inserts.maxQueueDepth, emitMsMax: Number(f1(inserts.emitMs.max)), transactionMsMax: Number(f1(inserts.transactionMs.max)), writeErrors: inserts.writeErrors, stored: inserts.stored,
  },
  queries: queries && { rows: queries.rows, p95Ms: Object.fromEntries(queries.queries.map((q) => [q.name, Number(f2(q.p95))])), medianMs: Object.fromEntries(queries.queries.map((q) => [q.name, Number(f2(q.median))])) },
};
console.log(`store-json ${JSON.stringify(json)}`);
process.exit(0);
