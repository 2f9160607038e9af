/**
 * Issue #5, load: eight 640x480 publishers at once (beyond what two cores can process in colour
 * mode). The server must stay responsive (/healthz sampled every 500 ms), every stream must keep
 * moving with drops shared roughly evenly, and memory must stay bounded.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { apiStreams, mediaFile, mediaSkip, startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { percentile, rssKb } from '../helpers/fault-tools.ts';

const STREAMS = 8;
const MEASURE_MS = Number(process.env.FAULTS_LOAD_MS ?? 25000);
let server: ServerProcess;
const publishers: Publisher[] = [];
const keys = Array.from({ length: STREAMS }, (_, i) => uniqueKey(`load${i}`));

before(async () => {
  if (mediaSkip) return;
  server = await startServerOnFreePorts();
  keys.forEach((key, i) => {
    // The clips are H.264 640x480@30 already: copied, so the publishers cost almost no CPU.
    publishers.push(publish(`${server.rtmpBase}/${key}`, ['-stream_loop', '-1', '-i', mediaFile(i % 2 ? 'again.mkv' : 'sister.mkv')], ['-c:v', 'copy', '-an']));
  });
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
});

test(`${STREAMS} publishers at once: responsive, every stream moving, fair drops, bounded memory`, { skip: mediaSkip, timeout: 180000 }, async (t) => {
  const pid = server.child.pid!;
  const t0 = Date.now();
  const failedLine = (key: string) => server.logs.find((l) => l.streamPath === `/live/${key}` && l.msg === 'stream failed');
  // Every stream either writes frames or has failed (asserted at the end, after the figures are taken).
  await waitFor(`all ${STREAMS} streams writing frames (or failed)`, async () => {
    const list = await apiStreams(server.httpBase);
    return keys.every((key) => failedLine(key) || list.some((s) => s.key === key && s.state === 'live' && Number(s.stats.framesOut) > 0));
  }, 90000, 500);
  t.diagnostic(`all ${STREAMS} streams writing frames or failed ${Date.now() - t0} ms after the publishers started`);
  const first = new Map((await apiStreams(server.httpBase)).map((s) => [s.key, s.stats as Record<string, number>]));
  const live = keys.filter((k) => first.has(k));
  const health: number[] = [];
  const rss: number[] = [];
  const stalled: string[] = [];
  const started = Date.now();
  let previous = first;
  while (Date.now() - started < MEASURE_MS) {
    const tick = Date.now();
    const t0 = performance.now();
    const res = await fetch(`${server.httpBase}/healthz`);
    await res.json();
    health.push(performance.now() - t0);
    assert.equal(res.status, 200);
    rss.push(rssKb(pid));
    if (health.length % 4 === 0) {
      // Every 2 s: each stream must have written frames since the last look.
      const now = new Map((await apiStreams(server.httpBase)).map((s) => [s.key, s.stats as Record<string, number>]));
      for (const key of live) {
        if (!now.has(key)) stalled.push(`${key} gone`);
        else if (previous.has(key) && now.get(key)!.framesOut <= previous.get(key)!.framesOut) stalled.push(`${key} stalled at ${now.get(key)!.framesOut}`);
      }
      previous = now;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 500 - (Date.now() - tick))));
  }
  const ended = server.logs.filter((l) => String(l.msg).startsWith('stream ended') || l.msg === 'stream failed' || String(l.msg).includes('restarting'));
  for (const l of ended) t.diagnostic(`${l.streamPath}: ${l.msg} ${l.code ?? ''} ${l.err ?? l.stderr ?? ''}`.slice(0, 400));
  t.diagnostic(`server RSS: first ${(rss[0] / 1024).toFixed(0)} MiB, max ${(Math.max(...rss) / 1024).toFixed(0)} MiB, last ${(rss.at(-1)! / 1024).toFixed(0)} MiB`);
  const last = new Map((await apiStreams(server.httpBase)).map((s) => [s.key, s.stats as Record<string, number>]));
  const rows = live.filter((k) => last.has(k)).map((key) => {
    const a = first.get(key)!;
    const b = last.get(key)!;
    const out = b.framesOut - a.framesOut;
    const dropped = b.droppedFrames - a.droppedFrames;
    return { key, out, dropped, ratio: dropped / Math.max(1, out), fpsOut: b.fpsOut, processed: out - dropped, fpsIn: (b.framesIn - a.framesIn) / (MEASURE_MS / 1000) };
  });
  const ratios = rows.map((r) => r.ratio);
  t.diagnostic(`healthz over ${health.length} samples: p50 ${percentile(health, 50).toFixed(1)} ms, p95 ${percentile(health, 95).toFixed(1)} ms, max ${Math.max(...health).toFixed(1)} ms`);
  t.diagnostic(`per stream (out / dropped / ratio / fpsOut / processed): ${rows.map((r) => `${r.out}/${r.dropped}/${r.ratio.toFixed(2)}/${r.fpsOut}/${r.processed}`).join(', ')}`);
  t.diagnostic(`decoded fps per stream (publishers send 30): ${rows.map((r) => r.fpsIn.toFixed(1)).join(', ')}`);
  t.diagnostic(`drop ratio min ${Math.min(...ratios).toFixed(3)} max ${Math.max(...ratios).toFixed(3)}`);
  const failed = keys.map(failedLine).filter(Boolean).map((l) => `${l!.streamPath}: ${l!.code}: ${String(l!.err).slice(0, 120)}`);
  assert.deepEqual(failed, [], 'no stream failed under load');
  assert.deepEqual([...new Set(stalled)], [], 'every stream wrote frames in every 2 s interval');
  // 95% of answers within 200 ms; a single late answer on a machine loaded by other suites (the
  // client here is starved as much as the server) is reported, and only fails beyond 1 s.
  assert.ok(percentile(health, 95) <= 200, `/healthz p95 ${percentile(health, 95).toFixed(0)} ms`);
  assert.ok(Math.max(...health) <= 1000, `/healthz took up to ${Math.max(...health).toFixed(0)} ms`);
  for (const r of rows) assert.ok(r.fpsOut > 0 && r.processed > 0, `${r.key} not moving or never processed: ${JSON.stringify(r)}`);
  assert.ok(Math.max(...ratios) - Math.min(...ratios) <= 0.35, `drops uneven: ${ratios.map((x) => x.toFixed(2)).join(', ')}`);
  // Bounded: the second half of the run does not keep growing past the first half's peak by much.
  const half = rss.slice(0, rss.length >> 1);
  assert.ok(Math.max(...rss) <= Math.max(...half) * 1.25, `RSS kept growing: ${Math.max(...half)} -> ${Math.max(...rss)} KiB`);
});
