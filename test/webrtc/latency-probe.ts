/**
 * The glass-to-glass probe for WebRTC (test/webrtc/webrtc-latency.test.ts and bench/webrtc.bench.ts):
 * one Chromium page draws its (fake) camera onto a canvas with a frame code on the person's torso
 * (8 bits, and their inverse as a check, in black and white blocks), publishes the canvas over WHIP,
 * plays the processed stream back over WHEP, reads the code of every new frame it decodes
 * (MediaStreamTrackProcessor) and takes the time since that code was drawn, on the page's own
 * clock. It also reads both peer connections' getStats() so a tail can be split into its parts,
 * and can time the same stream over HLS in the player's hls.js set-up, for comparison.
 */
import type { Page } from 'playwright-core';

// The code's blocks: 8 of 10x12 px at x 250..330, y 392 (bits) and y 404 (inverted bits), on the
// subject's black sweater in sister.mkv, which the person mask keeps (test/e2e/processed-output's TORSO).
// Page scripts are strings: tsx would wrap named functions in a helper the page does not have.
const PUBLISH = `(async ({ key, query }) => {
  const cam = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 }, audio: true });
  const v = document.createElement('video'); v.muted = true; v.srcObject = cam; await v.play();
  const c = document.createElement('canvas'); c.width = 640; c.height = 480;
  const g = c.getContext('2d');
  const sent = new Map(); const drawn = []; let n = 0;
  setInterval(() => {
    g.drawImage(v, 0, 0, 640, 480);
    const code = n % 256;
    for (let b = 0; b < 8; b++) {
      const bit = (code >> b) & 1;
      g.fillStyle = bit ? '#fff' : '#000'; g.fillRect(250 + b * 10, 392, 10, 12);
      g.fillStyle = bit ? '#000' : '#fff'; g.fillRect(250 + b * 10, 404, 10, 12);
    }
    const now = performance.now(); sent.set(code, now); drawn.push(now); n++;
  }, 33);
  const stream = c.captureStream(30);
  stream.addTrack(cam.getAudioTracks()[0]);
  const pc = new RTCPeerConnection();
  for (const t of stream.getTracks()) pc.addTransceiver(t, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch('/whip/live/' + key + '?' + query, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHIP ' + res.status + ' ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.latency = { sent, drawn, samples: [], at: [], frames: 0, bad: 0, whipPc: pc };
})`;

// READ_CODE (page side) reads the frame code of one decoded VideoFrame and closes it: 0..255, or -1
// when the frame is not 640 wide or a bit and its inverse disagree. A captured <video> frame may come
// as RGBA/BGRA rather than YUV: then a pixel's mean of R, G and B stands for its luma.
const READ_CODE = `async (frame) => {
    const buf = new Uint8Array(frame.allocationSize());
    const [y] = await frame.copyTo(buf);
    const w = frame.codedWidth;
    const px = /^(RGB|BGR)/.test(frame.format ?? '') ? 4 : 1;
    frame.close();
    if (w !== 640) return -1;
    const at = (i) => (px === 1 ? buf[i] : (buf[i] + buf[i + 1] + buf[i + 2]) / 3);
    const luma = (x0, y0) => { let s = 0; for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += at(y.offset + (y0 + dy) * y.stride + (x0 + dx) * px); return s / 16; };
    let code = 0;
    for (let b = 0; b < 8; b++) {
      const hi = luma(253 + b * 10, 396) > 128; const lo = luma(253 + b * 10, 408) > 128;
      if (hi === lo) return -1;
      if (hi) code |= 1 << b;
    }
    return code;
  }`;

// EACH_FRAME_CODE (page side) reads every frame of a video track as it leaves the decoder and
// calls onCode(code, shownAt) for each readable one; counts.frames and counts.bad are counted.
const EACH_FRAME_CODE = `async (track, counts, onCode) => {
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  const readCode = ${READ_CODE};
  for (;;) {
    const { value: frame, done } = await reader.read();
    if (done) break;
    const shownAt = performance.now();
    counts.frames++;
    const code = await readCode(frame);
    if (code < 0) counts.bad++;
    else onCode(code, shownAt);
  }
}`;

const PLAY = `(async (key) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const trackArrived = new Promise((resolve) => { pc.ontrack = (e) => { if (e.track.kind === 'video') resolve(e.track); }; });
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch('/whep/live/stream-' + key, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHEP ' + res.status + ' ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.latency.whepPc = pc;
  // Frames are read as they come out of the decoder (MediaStreamTrackProcessor: the Y plane
  // itself; a canvas copy of a WebRTC <video> is black in headless Chromium without a GPU).
  const track = await trackArrived;
  const L = window.latency; let last = -1;
  await (${EACH_FRAME_CODE})(track, L, (code, shownAt) => {
    if (code === last) return;
    last = code;
    const t = L.sent.get(code);
    if (t !== undefined && shownAt - t < 8000) { L.samples.push(shownAt - t); L.at.push(shownAt); }
  });
})`;

// The same stream over HLS, in the player's own hls.js set-up (player/hls-playback.js), frames read
// from the <video> through captureStream(). An 8-bit code repeats every 256 frames (8.5 s), about
// what HLS is behind, so each code is placed in the drawing order: the first one by hls.js's own
// distance behind the live edge plus one segment, every later one as the next drawing of that code
// after the last frame placed (frames only move forward; a repeated frame keeps its code).
const HLS_PLAY = `(async (key) => {
  const { default: Hls } = await import('/vendor/hls.js/hls.min.mjs');
  const { HLS_CONFIG } = await import('/hls-playback.js');
  const L = window.latency; const H = { samples: [], at: [], frames: 0, bad: 0, last: -1, hlsLatencyS: [] };
  L.hlsRun = H;
  const v = document.createElement('video'); v.muted = true; v.playsInline = true; document.body.appendChild(v);
  const hls = new Hls(HLS_CONFIG);
  hls.on(Hls.Events.MANIFEST_PARSED, () => { v.play().catch(() => {}); });
  hls.loadSource('/live/stream-' + key + '/index.m3u8'); hls.attachMedia(v);
  await new Promise((resolve) => v.addEventListener('playing', resolve, { once: true }));
  const track = v.captureStream().getVideoTracks()[0];
  await (${EACH_FRAME_CODE})(track, H, (code, shownAt) => {
    if (H.last >= 0 && H.last % 256 === code) return;
    let n;
    if (H.last < 0) {
      const estimate = ((hls.latency || 6) + 2) * 1000;
      let best = Infinity;
      for (let k = code; k < L.drawn.length; k += 256) {
        const off = Math.abs(shownAt - L.drawn[k] - estimate);
        if (off < best) { best = off; n = k; }
      }
    } else {
      n = H.last + ((code - H.last % 256 + 256) % 256);
    }
    if (n === undefined || n >= L.drawn.length) { H.bad++; return; }
    H.last = n;
    H.samples.push(shownAt - L.drawn[n]); H.at.push(shownAt);
    if (H.samples.length % 30 === 0) H.hlsLatencyS.push(hls.latency);
  });
})`;

// Both ends' getStats(), summed where it makes sense: the receiver's jitter buffer and decode, the sender's encode and pacing.
const STATS = `(async () => {
  const L = window.latency; const out = {};
  const pick = async (pc, type, kind) => { if (!pc) return undefined; let r; (await pc.getStats()).forEach((s) => { if (s.type === type && s.kind === kind) r = s; }); return r; };
  const rx = await pick(L.whepPc, 'inbound-rtp', 'video');
  if (rx) Object.assign(out, { rx: {
    framesReceived: rx.framesReceived, framesDecoded: rx.framesDecoded, framesDropped: rx.framesDropped, keyFramesDecoded: rx.keyFramesDecoded,
    jitterBufferDelayS: rx.jitterBufferDelay, jitterBufferTargetDelayS: rx.jitterBufferTargetDelay, jitterBufferMinimumDelayS: rx.jitterBufferMinimumDelay, jitterBufferEmittedCount: rx.jitterBufferEmittedCount,
    totalDecodeTimeS: rx.totalDecodeTime, totalProcessingDelayS: rx.totalProcessingDelay, totalAssemblyTimeS: rx.totalAssemblyTime, framesAssembledFromMultiplePackets: rx.framesAssembledFromMultiplePackets,
    freezeCount: rx.freezeCount, totalFreezesDurationS: rx.totalFreezesDuration, nackCount: rx.nackCount, pliCount: rx.pliCount, packetsLost: rx.packetsLost, jitterS: rx.jitter,
    bytesReceived: rx.bytesReceived, frameWidth: rx.frameWidth } });
  const tx = await pick(L.whipPc, 'outbound-rtp', 'video');
  if (tx) Object.assign(out, { tx: {
    framesEncoded: tx.framesEncoded, keyFramesEncoded: tx.keyFramesEncoded, totalEncodeTimeS: tx.totalEncodeTime, totalPacketSendDelayS: tx.totalPacketSendDelay, packetsSent: tx.packetsSent,
    framesSent: tx.framesSent, hugeFramesSent: tx.hugeFramesSent, pliCount: tx.pliCount, nackCount: tx.nackCount, retransmittedPacketsSent: tx.retransmittedPacketsSent,
    qualityLimitationReason: tx.qualityLimitationReason, qualityLimitationDurations: tx.qualityLimitationDurations, frameWidth: tx.frameWidth, frameHeight: tx.frameHeight,
    framesPerSecond: tx.framesPerSecond, targetBitrate: tx.targetBitrate, bytesSent: tx.bytesSent, encoderImplementation: tx.encoderImplementation } });
  let pair; (await L.whipPc.getStats()).forEach((s) => { if (s.type === 'candidate-pair' && s.nominated) pair = s; });
  if (pair) out.whipAvailableOutgoingBitrate = pair.availableOutgoingBitrate;
  return out;
})()`;

/** PeerStats are the cumulative getStats() figures of the WHEP receiver (rx) and the WHIP sender (tx); seconds as Chromium gives them. */
export interface PeerStats {
  rx?: Record<string, number | undefined>;
  tx?: Record<string, number | string | Record<string, number> | undefined>;
  whipAvailableOutgoingBitrate?: number;
}

/** LatencyRun is one measurement: glass-to-glass samples (ms) with the page time each was read at (ms), and the stats over its window. */
export interface LatencyRun {
  samples: number[];
  at: number[];
  frames: number;
  bad: number;
  before: PeerStats;
  after: PeerStats;
}

/** startLatencyProbe publishes the canvas camera over WHIP (`query` e.g. `bg=color&color=00ff00`); the page must be on the server's origin. */
export async function startLatencyProbe(page: Page, key: string, query: string): Promise<void> {
  await page.evaluate(`${PUBLISH}(${JSON.stringify({ key, query })})`);
}

/** playLatencyProbe starts the WHEP reader (call once the stream is live); it reads frames until the page closes. */
export function playLatencyProbe(page: Page, key: string): void {
  void page.evaluate(`${PLAY}(${JSON.stringify(key)})`).catch(() => {});
}

/** probeState is the probe's counts so far (for error messages). */
export async function probeState(page: Page): Promise<string> {
  return page.evaluate('JSON.stringify({ samples: window.latency.samples.length, frames: window.latency.frames, bad: window.latency.bad, sent: window.latency.sent.size })') as Promise<string>;
}

/**
 * measureLatency waits for `warmup` samples (the browser's bandwidth ramp-up), then collects `count`
 * samples (within `timeoutMs`), with both ends' stats at the window's start and end.
 * @throws Error (playwright's timeout, with the probe's counts) when the samples do not come.
 */
export async function measureLatency(page: Page, warmup: number, count: number, timeoutMs: number): Promise<LatencyRun> {
  await page.waitForFunction(`window.latency.samples.length >= ${warmup}`, undefined, { timeout: timeoutMs })
    .catch(async (err) => { throw new Error(`${(err as Error).message}: ${await probeState(page)}`); });
  await page.evaluate('window.latency.samples = []; window.latency.at = []');
  const before = await page.evaluate(STATS) as PeerStats;
  await page.waitForFunction(`window.latency.samples.length >= ${count}`, undefined, { timeout: timeoutMs })
    .catch(async (err) => { throw new Error(`${(err as Error).message}: ${await probeState(page)}`); });
  const after = await page.evaluate(STATS) as PeerStats;
  const run = await page.evaluate('({ samples: window.latency.samples, at: window.latency.at, frames: window.latency.frames, bad: window.latency.bad })') as Omit<LatencyRun, 'before' | 'after'>;
  return { ...run, before, after };
}

/** HlsLatencyRun is one HLS measurement: glass-to-glass samples (ms), frames read, unreadable frames, and hls.js's own latency estimates (s) along the way. */
export interface HlsLatencyRun {
  samples: number[];
  frames: number;
  bad: number;
  hlsLatencyS: number[];
}

/**
 * measureHlsLatency plays `live/stream-<key>` over HLS in the probe's page (after startLatencyProbe)
 * with the player's hls.js settings, waits for `warmup` samples, then collects `count`.
 * @throws Error (playwright's timeout, with the counts) when the samples do not come within `timeoutMs`.
 */
export async function measureHlsLatency(page: Page, key: string, warmup: number, count: number, timeoutMs: number): Promise<HlsLatencyRun> {
  void page.evaluate(`${HLS_PLAY}(${JSON.stringify(key)})`).catch(() => {});
  const state = () => page.evaluate('JSON.stringify(window.latency.hlsRun ? { samples: window.latency.hlsRun.samples.length, frames: window.latency.hlsRun.frames, bad: window.latency.hlsRun.bad } : "not playing")') as Promise<string>;
  const wait = (n: number) => page.waitForFunction(`(window.latency.hlsRun?.samples.length ?? 0) >= ${n}`, undefined, { timeout: timeoutMs })
    .catch(async (err) => { throw new Error(`HLS: ${(err as Error).message}: ${await state()}`); });
  await wait(warmup);
  await page.evaluate('window.latency.hlsRun.samples = []; window.latency.hlsRun.hlsLatencyS = []');
  await wait(count);
  return page.evaluate('({ samples: window.latency.hlsRun.samples, frames: window.latency.hlsRun.frames, bad: window.latency.hlsRun.bad, hlsLatencyS: window.latency.hlsRun.hlsLatencyS })') as Promise<HlsLatencyRun>;
}

/** quantile of samples (nearest rank below), e.g. 0.95; NaN for none. */
export function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : Number.NaN;
}

/**
 * statsBreakdown turns a window's stats into per-frame figures (ms): the receiver's mean jitter
 * buffer delay, decode and assembly, the sender's encode and packet send (pacer) delay, with counts.
 */
export function statsBreakdown(run: LatencyRun): Record<string, number | string> {
  const d = (side: 'rx' | 'tx', k: string) => Number(run.after[side]?.[k] ?? 0) - Number(run.before[side]?.[k] ?? 0);
  const per = (num: number, den: number) => (den > 0 ? Number(((num / den) * 1000).toFixed(1)) : Number.NaN);
  return {
    rxJitterBufferMs: per(d('rx', 'jitterBufferDelayS'), d('rx', 'jitterBufferEmittedCount')),
    rxJitterBufferTargetMs: per(d('rx', 'jitterBufferTargetDelayS'), d('rx', 'jitterBufferEmittedCount')),
    rxJitterBufferMinimumMs: per(d('rx', 'jitterBufferMinimumDelayS'), d('rx', 'jitterBufferEmittedCount')),
    rxDecodeMs: per(d('rx', 'totalDecodeTimeS'), d('rx', 'framesDecoded')),
    rxProcessingMs: per(d('rx', 'totalProcessingDelayS'), d('rx', 'framesDecoded')),
    rxAssemblyMs: per(d('rx', 'totalAssemblyTimeS'), d('rx', 'framesAssembledFromMultiplePackets')),
    rxFramesDecoded: d('rx', 'framesDecoded'),
    rxFramesDropped: d('rx', 'framesDropped'),
    rxKeyFrames: d('rx', 'keyFramesDecoded'),
    rxFreezes: d('rx', 'freezeCount'),
    rxNacks: d('rx', 'nackCount'),
    rxPlis: d('rx', 'pliCount'),
    rxKbps: Number((d('rx', 'bytesReceived') * 8 / Math.max(1, (run.at.at(-1)! - run.at[0]!))).toFixed(0)),
    txEncodeMs: per(d('tx', 'totalEncodeTimeS'), d('tx', 'framesEncoded')),
    txPacketSendDelayMs: per(d('tx', 'totalPacketSendDelayS'), d('tx', 'packetsSent')),
    txFramesEncoded: d('tx', 'framesEncoded'),
    txKeyFrames: d('tx', 'keyFramesEncoded'),
    txPlisReceived: d('tx', 'pliCount'),
    txNacksReceived: d('tx', 'nackCount'),
    txKbps: Number((d('tx', 'bytesSent') * 8 / Math.max(1, (run.at.at(-1)! - run.at[0]!))).toFixed(0)),
    txSize: `${run.after.tx?.frameWidth ?? '?'}x${run.after.tx?.frameHeight ?? '?'}`,
    txQualityLimitation: String(run.after.tx?.qualityLimitationReason ?? '?'),
    txEncoder: String(run.after.tx?.encoderImplementation ?? '?'),
  };
}
