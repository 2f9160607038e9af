/**
 * Issue #22, glass-to-glass latency over WebRTC with the background replaced, measured in
 * Chromium by the frame-code probe of latency-probe.ts (canvas camera -> WHIP `?bg=color` -> WHEP
 * -> decoded, on the page's own clock). Reports p50/p95; fails only when nothing is measured or p95 exceeds 1.5 s (a shared
 * 2-core machine; the target, 400 ms p95, is reported, not gated).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { mediaSkip, mediaFile, uniqueKey, apiStreams } from '../helpers/e2e-media.ts';
import { launchCameraChromium, makeCameraY4m } from './webrtc-browser.ts';
import { measureLatency, playLatencyProbe, quantile, startLatencyProbe, statsBreakdown } from './latency-probe.ts';

let server: ServerProcess | undefined;
let browser: Browser | undefined;
let work: string | undefined;

before(async () => {
  if (mediaSkip) return;
  work = mkdtempSync(join(tmpdir(), 'webrtc-latency-'));
  server = await startServer();
  browser = await launchCameraChromium(makeCameraY4m(mediaFile('sister.mkv'), work, 640, 480, 3));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('glass-to-glass latency over WHIP -> background replaced -> WHEP, measured in the browser', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const key = uniqueKey('latency');
  const page = await browser!.newPage();
  await page.goto(`${server!.httpBase}/`);
  await startLatencyProbe(page, key, 'bg=color&color=00ff00');
  await waitFor('the stream live', async () => (await apiStreams(server!.httpBase)).some((s) => s.key === key && s.state === 'live'), 30_000);
  playLatencyProbe(page, key);
  // Warm-up: the first seconds include the browser's bandwidth ramp-up; then 200 samples.
  const run = await measureLatency(page, 60, 200, 60_000);
  const at = (q: number) => quantile(run.samples, q);
  const b = statsBreakdown(run);
  console.log(`# glass-to-glass (canvas -> WHIP -> bg=color -> WHEP -> decoded): n=${run.samples.length} p50 ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, max ${Math.max(...run.samples).toFixed(0)} ms; frames shown ${run.frames}, unreadable codes ${run.bad}; receiver jitter buffer ${b.rxJitterBufferMs} ms/frame`);
  assert.ok(at(0.95) < 1500, `p95 ${at(0.95).toFixed(0)} ms`);
  await page.close();
});
