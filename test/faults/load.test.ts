/**
 * Issue #5, load: eight 640x480 publishers at once (beyond what two cores can process in colour
 * mode). The server must stay responsive (/healthz sampled every 500 ms), every stream must keep
 * moving with drops shared roughly evenly, and memory must stay bounded.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { apiStreams, mediaFile, mediaSkip, startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { percentile, rssKb } from '../helpers/fault-tools.ts';

const STREAMS = 8;
const MEASURE_MS = Number(process.env.FAULTS_LOAD_MS ?? 60000);
let server: ServerProcess;
const publishers: Publisher[] = [];
/** A trivial HTTP server in its own process: how long the machine makes any process wait. */
let control: ChildProcess | undefined;
let controlUrl = '';
const keys = Array.from({ length: STREAMS }, (_, i) => uniqueKey(`load${i}`));

before(async () => {
  if (mediaSkip) return;
  server = await startServerOnFreePorts();
  control = spawn(process.execPath, ['-e', "const s=require('http').createServer((q,r)=>r.end('{}')).listen(0,'127.0.0.1',()=>console.log(s.address().port))"], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [port] = await once(control.stdout!, 'data');
  controlUrl = `http://127.0.0.1:${String(port).trim()}/`;
  keys.forEach((key, i) => {
    // The clips are H.264 640x480@30 already: copied, so the publishers cost almost no CPU.
    publishers.push(publish(`${server.rtmpBase}/${key}`, ['-stream_loop', '-1', '-i', mediaFile(i % 2 ? 'again.mkv' : 'sister.mkv')], ['-c:v', 'copy', '-an']));
  });
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
  control?.kill();
});

test(`${STREAMS} publishers at once: responsive, every stream moving, fair drops, bounded memory`, { skip: mediaSkip, timeout: 240000 }, async (t) => {
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
  const baseline: number[] = [];
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
    const c0 = performance.now();
    await (await fetch(controlUrl)).text();
    baseline.push(performance.now() - c0);
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
  // Samples are 0.5 s apart; the first 15 s (start-up allocations, first GCs) are left out.
  const tail = rss.slice(Math.min(30, rss.length >> 1)).map((kb, i) => [i * 0.5, kb / 1024]);
  const mx = tail.reduce((a, [x]) => a + x, 0) / tail.length;
  const my = tail.reduce((a, [, y]) => a + y, 0) / tail.length;
  const rssSlope = tail.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / tail.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  t.diagnostic(`server RSS every 5 s (MiB): ${rss.filter((_, i) => i % 10 === 0).map((kb) => (kb / 1024).toFixed(0)).join(' ')}`);
  t.diagnostic(`server RSS slope after the first 15 s: ${rssSlope.toFixed(2)} MiB/s`);
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
  t.diagnostic(`control HTTP process, same moments: p50 ${percentile(baseline, 50).toFixed(1)} ms, p95 ${percentile(baseline, 95).toFixed(1)} ms, max ${Math.max(...baseline).toFixed(1)} ms`);
  t.diagnostic(`per stream (out / dropped / ratio / fpsOut / processed): ${rows.map((r) => `${r.out}/${r.dropped}/${r.ratio.toFixed(2)}/${r.fpsOut}/${r.processed}`).join(', ')}`);
  t.diagnostic(`decoded fps per stream (publishers send 30): ${rows.map((r) => r.fpsIn.toFixed(1)).join(', ')}`);
  t.diagnostic(`drop ratio min ${Math.min(...ratios).toFixed(3)} max ${Math.max(...ratios).toFixed(3)}`);
  const failed = keys.map(failedLine).filter(Boolean).map((l) => `${l!.streamPath}: ${l!.code}: ${String(l!.err).slice(0, 120)}`);
  assert.deepEqual(failed, [], 'no stream failed under load');
  assert.deepEqual([...new Set(stalled)], [], 'every stream wrote frames in every 2 s interval');
  // 95% of answers within 200 ms beyond what the machine imposes on any process at the same moments
  // (a trivial HTTP server in its own process, sampled right after); one late answer is reported
  // and only fails beyond 1 s. On an idle machine the control answers in ~1 ms.
  const allowance = 200 + percentile(baseline, 95);
  assert.ok(percentile(health, 95) <= allowance, `/healthz p95 ${percentile(health, 95).toFixed(0)} ms > ${allowance.toFixed(0)} ms`);
  assert.ok(Math.max(...health) <= 1000, `/healthz took up to ${Math.max(...health).toFixed(0)} ms`);
  for (const r of rows) assert.ok(r.fpsOut > 0 && r.processed > 0, `${r.key} not moving or never processed: ${JSON.stringify(r)}`);
  assert.ok(Math.max(...ratios) - Math.min(...ratios) <= 0.35, `drops uneven: ${ratios.map((x) => x.toFixed(2)).join(', ')}`);
  // Bounded: after start-up, RSS must not keep climbing. It moves in steps of 20-40 MiB (GC and
  // allocator arenas: 332 -> 369 MiB within 5 s in one CI run), and a step in the middle of a
  // window of T seconds reads as a least-squares slope of 1.5 * step / T: a 30 MiB step over the
  // last 30 s read 1.11 MiB/s, while a 200 s run of this test stayed at 338-381 MiB (slope 0.16).
  // So the fit spans the last 45 s and fails above 2 MiB/s (120 MiB a minute): a leak of one
  // 640x480 frame in 50 (9 KiB per frame at 240 decoded frames/s) is above that.
  assert.ok(rssSlope <= 2, `server RSS still growing ${rssSlope.toFixed(2)} MiB/s after the first 15 s`);
});
