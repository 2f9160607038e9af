/**
 * WebRTC glass-to-glass latency (issue #22): headless Chromium publishes a canvas camera (a clip
 * with a person, a frame code drawn on the torso) over WHIP with the background painted, plays the
 * processed stream back over WHEP in the same page and times each code from drawn to decoded
 * (test/webrtc/latency-probe.ts), against the compiled server as `npm start` runs it. Prints a
 * markdown section with p50/p95/p99 and the getStats() split (receiver jitter buffer, decode;
 * sender encode, pacer), and a `webrtc-json {...}` line.
 *
 * Flags: --quick (fewer samples), --samples <n> (default 600, quick 200), --series (print every
 * sample above the p90 with its time, to see where the tail comes from).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { SHARED_MEDIA } from '../test/helpers/server-process.ts';
import { launchCameraChromium, makeCameraY4m } from '../test/webrtc/webrtc-browser.ts';
import { measureHlsLatency, measureLatency, playLatencyProbe, quantile, startLatencyProbe, statsBreakdown } from '../test/webrtc/latency-probe.ts';
import { benchServer, log, stopAll, streams, waitLive } from './pipeline.bench.ts';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const SAMPLES = argv.includes('--samples') ? Number(argv[argv.indexOf('--samples') + 1]) : QUICK ? 200 : 600;
const WARMUP = QUICK ? 60 : 120;
const QUERY = 'bg=color&color=00ff00';

const work = mkdtempSync(join(tmpdir(), 'webrtc-bench-'));
let browser: Browser | undefined;
const loadStart = loadavg();
try {
  log(`webrtc: WHIP -> ${QUERY} -> WHEP, ${WARMUP} warm-up then ${SAMPLES} samples`);
  const server = await benchServer();
  browser = await launchCameraChromium(makeCameraY4m(join(SHARED_MEDIA, 'sister.mkv'), work, 640, 480, 3));
  const page = await browser.newPage();
  await page.goto(`${server.httpBase}/`);
  const key = 'bench-webrtc';
  await startLatencyProbe(page, key, QUERY);
  await waitLive(server, [key]);
  playLatencyProbe(page, key);
  const run = await measureLatency(page, WARMUP, SAMPLES, 120_000);
  // The same stream over HLS beside it (the player's default): its 2 s segments, 3 back from the live edge.
  const hlsRun = await measureHlsLatency(page, key, QUICK ? 60 : 150, QUICK ? 150 : 300, 120_000);
  const hq = (q: number) => Math.round(quantile(hlsRun.samples, q));
  const hlsJs = hlsRun.hlsLatencyS.filter((x) => Number.isFinite(x));
  const stats = (await streams(server)).get(key)?.stats as unknown as { latencyMs?: { p50: number; p95: number }; droppedFrames?: number; fps?: number } | undefined;
  const b = statsBreakdown(run);
  const p = (q: number) => Math.round(quantile(run.samples, q));
  const seconds = (run.at.at(-1)! - run.at[0]!) / 1000;
  const loadEnd = loadavg();
  if (argv.includes('--series')) {
    const p90 = quantile(run.samples, 0.9);
    for (let i = 0; i < run.samples.length; i++) if (run.samples[i]! >= p90) console.error(`  t=${((run.at[i]! - run.at[0]!) / 1000).toFixed(2)} s  ${run.samples[i]!.toFixed(0)} ms`);
  }
  console.log(`### WebRTC glass-to-glass latency (bench/webrtc.bench.ts)

Chromium (headless, software H.264) publishes a 640x480 30 fps canvas camera over WHIP with \`?${QUERY}\`, plays \`live/stream-${key}\` over WHEP in the same page and times each frame code from drawn to decoded (MediaStreamTrackProcessor), on the page's clock; ${run.samples.length} samples over ${seconds.toFixed(1)} s after ${WARMUP} warm-up samples. ${cpus().length} CPUs, load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at end (a shared machine: other jobs run beside it).

| p50 ms | p95 ms | p99 ms | max ms | frames read | unreadable | server decoder->encoder p50/p95 ms |
|---:|---:|---:|---:|---:|---:|---|
| ${p(0.5)} | ${p(0.95)} | ${p(0.99)} | ${Math.round(Math.max(...run.samples))} | ${run.frames} | ${run.bad} | ${stats?.latencyMs ? `${Math.round(stats.latencyMs.p50)} / ${Math.round(stats.latencyMs.p95)}` : '-'} |

The same stream over HLS in the same page, with the player's hls.js settings (player/hls-playback.js) and read through the video element's captureStream(): ${hlsRun.samples.length} samples.

| path | p50 ms | p95 ms | p99 ms | frames read | unreadable |
|---|---:|---:|---:|---:|---:|
| WebRTC (WHEP) | ${p(0.5)} | ${p(0.95)} | ${p(0.99)} | ${run.frames} | ${run.bad} |
| HLS (hls.js) | ${hq(0.5)} | ${hq(0.95)} | ${hq(0.99)} | ${hlsRun.frames} | ${hlsRun.bad} |

hls.js's own estimate of its distance behind the live edge over the HLS window: ${hlsJs.length ? `${Math.min(...hlsJs).toFixed(1)}–${Math.max(...hlsJs).toFixed(1)} s` : 'none read'} (the glass-to-glass figure adds the newest segment's own 2 s and the encode).

getStats() over the window, per frame: receiver jitter buffer ${b.rxJitterBufferMs} ms (target ${b.rxJitterBufferTargetMs}, minimum ${b.rxJitterBufferMinimumMs}), decode ${b.rxDecodeMs} ms, assembly ${b.rxAssemblyMs} ms; ${b.rxFramesDecoded} decoded, ${b.rxFramesDropped} dropped, ${b.rxKeyFrames} keyframes, ${b.rxFreezes} freezes, ${b.rxNacks} NACKs, ${b.rxPlis} PLIs, ${b.rxKbps} kbit/s. Sender: ${b.txSize} (${b.txEncoder}, limited by ${b.txQualityLimitation}), encode ${b.txEncodeMs} ms, packet send delay ${b.txPacketSendDelayMs} ms, ${b.txKeyFrames} keyframes, ${b.txPlisReceived} PLIs, ${b.txKbps} kbit/s.
`);
  console.log(`webrtc-json ${JSON.stringify({ quick: QUICK, samples: run.samples.length, p50: p(0.5), p95: p(0.95), p99: p(0.99), hls: { samples: hlsRun.samples.length, p50: hq(0.5), p95: hq(0.95), p99: hq(0.99) }, stats: b, loadStart, loadEnd })}`);
} finally {
  await browser?.close();
  await stopAll();
  rmSync(work, { recursive: true, force: true });
}
