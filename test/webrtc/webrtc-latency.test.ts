/**
 * Issue #22, glass-to-glass latency over WebRTC with the background replaced: one Chromium page
 * draws its (fake) camera onto a canvas with a frame code on the person's torso (8 bits, and their
 * inverse as a check, in black and white blocks), publishes the canvas over WHIP with
 * `?bg=color`, plays the processed stream back over WHEP, reads the code of every new frame it
 * decodes (MediaStreamTrackProcessor) and takes the time since that code was drawn, on the page's own
 * clock. Reports p50/p95; fails only when nothing is measured or p95 exceeds 1.5 s (a shared
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

// The code's blocks: 8 of 10x12 px at x 250..330, y 392 (bits) and y 404 (inverted bits), on the
// subject's black sweater in sister.mkv, which the person mask keeps (test/e2e/processed-output's TORSO).
// Page scripts are strings: tsx would wrap named functions in a helper the page does not have.
const PUBLISH = `(async (key) => {
  const cam = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 }, audio: true });
  const v = document.createElement('video'); v.muted = true; v.srcObject = cam; await v.play();
  const c = document.createElement('canvas'); c.width = 640; c.height = 480;
  const g = c.getContext('2d');
  const sent = new Map(); let n = 0;
  setInterval(() => {
    g.drawImage(v, 0, 0, 640, 480);
    const code = n % 256;
    for (let b = 0; b < 8; b++) {
      const bit = (code >> b) & 1;
      g.fillStyle = bit ? '#fff' : '#000'; g.fillRect(250 + b * 10, 392, 10, 12);
      g.fillStyle = bit ? '#000' : '#fff'; g.fillRect(250 + b * 10, 404, 10, 12);
    }
    sent.set(code, performance.now()); n++;
  }, 33);
  const stream = c.captureStream(30);
  stream.addTrack(cam.getAudioTracks()[0]);
  const pc = new RTCPeerConnection();
  for (const t of stream.getTracks()) pc.addTransceiver(t, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch('/whip/live/' + key + '?bg=color&color=00ff00', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHIP ' + res.status + ' ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.latency = { sent, samples: [], frames: 0, bad: 0 };
})`;

const PLAY = `(async (key) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const trackArrived = new Promise((resolve) => { pc.ontrack = (e) => { if (e.track.kind === 'video') resolve(e.track); }; });
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch('/whep/live/stream-' + key, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHEP ' + res.status + ' ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  // Frames are read as they come out of the decoder (MediaStreamTrackProcessor: the Y plane
  // itself; a canvas copy of a WebRTC <video> is black in headless Chromium without a GPU).
  const track = await trackArrived;
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  const L = window.latency; let last = -1;
  for (;;) {
    const { value: frame, done } = await reader.read();
    if (done) break;
    const shownAt = performance.now();
    const buf = new Uint8Array(frame.allocationSize());
    const [y] = await frame.copyTo(buf);
    const w = frame.codedWidth;
    frame.close();
    L.frames++;
    const luma = (x0, y0) => { let s = 0; for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += buf[y.offset + (y0 + dy) * y.stride + x0 + dx]; return s / 16; };
    if (w !== 640) { L.bad++; continue; }
    let code = 0; let ok = true;
    for (let b = 0; b < 8; b++) {
      const hi = luma(253 + b * 10, 396) > 128; const lo = luma(253 + b * 10, 408) > 128;
      if (hi === lo) ok = false;
      if (hi) code |= 1 << b;
    }
    if (!ok) L.bad++;
    else if (code !== last) {
      last = code;
      const t = L.sent.get(code);
      if (t !== undefined && shownAt - t < 8000) L.samples.push(shownAt - t);
    }
  }
})`;

test('glass-to-glass latency over WHIP -> background replaced -> WHEP, measured in the browser', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const key = uniqueKey('latency');
  const page = await browser!.newPage();
  await page.goto(`${server!.httpBase}/`);
  await page.evaluate(`${PUBLISH}(${JSON.stringify(key)})`);
  await waitFor('the stream live', async () => (await apiStreams(server!.httpBase)).some((s) => s.key === key && s.state === 'live'), 30_000);
  // Not awaited: the page reads frames until it closes.
  void page.evaluate(`${PLAY}(${JSON.stringify(key)})`).catch(() => {});
  // Warm-up: the first seconds include the browser's bandwidth ramp-up; then 200 samples.
  const state = async () => page.evaluate('JSON.stringify({ samples: window.latency.samples.length, frames: window.latency.frames, bad: window.latency.bad, sent: window.latency.sent.size })');
  await page.waitForFunction('window.latency.samples.length >= 60', undefined, { timeout: 30_000 })
    .catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${await state()}`);
    });
  await page.evaluate('window.latency.samples = []');
  await page.waitForFunction('window.latency.samples.length >= 200', undefined, { timeout: 60_000 });
  const { samples, frames, bad } = await page.evaluate('({ samples: window.latency.samples, frames: window.latency.frames, bad: window.latency.bad })') as { samples: number[]; frames: number; bad: number };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(`# glass-to-glass (canvas -> WHIP -> bg=color -> WHEP -> decoded): n=${sorted.length} p50 ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms; frames shown ${frames}, unreadable codes ${bad}`);
  assert.ok(at(0.95) < 1500, `p95 ${at(0.95).toFixed(0)} ms`);
  await page.close();
});
