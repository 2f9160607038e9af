/**
 * Issue #22, WHIP ingest: headless Chromium publishes a fake camera (a clip with a person) and a
 * fake microphone over WebRTC to `POST /whip/live/<key>`; the stream is processed like an RTMP
 * publisher's (the background painted green), comes out as RTMP and HLS, and ends with the
 * session (DELETE, or the tab closed). Bad offers, a wrong token and a key in use are refused
 * with a 4xx that says why, and leave nothing running.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { publish, probe, type Publisher } from '../helpers/ffmpeg-tools.ts';
import {
  mediaSkip, mediaFile, uniqueKey, apiStreams, fetchPlaylist, grabFramesRgb, regionMeanRgb, maxChannelDiff,
  ffmpegChildren, type Rect,
} from '../helpers/e2e-media.ts';
import { launchCameraChromium, makeCameraY4m, whipPublish } from './webrtc-browser.ts';

const W = 640;
const H = 480;
const SECRET = 'whip-test-secret';
const GREEN = [0, 255, 0];
// Regions of sister.mkv (640x480) that never hold the subject (as in test/e2e/processed-output).
const BACKGROUND: Rect[] = [[0, 0, 40, 30], [600, 0, 640, 30], [500, 100, 580, 300]];
// libx264 on both sides (the browser's encode and ours) and the YUV->RGB round trip: a flat green
// comes back within a few levels; 30 is far from every input background region (> 100 from green).
const COLOUR_TOLERANCE = 30;
/** The most the last audio and video timestamps read from the live output may differ, s (an earlier VP8 path let the audio fall seconds behind). */
const MAX_AV_GAP_S = 0.5;
/** Output frames a stream makes before its A/V timestamps are compared (8 s at 30 fps: a drift grows with time). */
const AV_SETTLE_FRAMES = 240;
/** How long a closed tab may take to end everything: webrtc.mediaTimeoutMs (3 s) plus the pipeline's stop. */
const END_DEADLINE_MS = 10_000;

let server: ServerProcess | undefined;
let browser: Browser | undefined;
let work: string | undefined;
const publishers: Publisher[] = [];

before(async () => {
  if (mediaSkip) return;
  work = mkdtempSync(join(tmpdir(), 'whip-test-'));
  const y4m = makeCameraY4m(mediaFile('sister.mkv'), work, W, H, 3);
  server = await startServer([], { LIVEMATTE_PUBLISH_SECRET: SECRET });
  browser = await launchCameraChromium(y4m);
});

after(async () => {
  if (process.env.WHIP_TEST_LOGS && server) (await import('node:fs')).writeFileSync(process.env.WHIP_TEST_LOGS, server.logs.map((l) => JSON.stringify(l)).join('\n'));
  await Promise.all(publishers.map((p) => p.stop()));
  await browser?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function newPage() {
  const page = await browser!.newPage();
  // Any page of the server's own origin can POST the offer (WHIP is same-origin here).
  await page.goto(`${server!.httpBase}/`);
  return page;
}

/**
 * avGapSeconds reads 2 s of a live RTMP output (packets only, no decode) and returns the last video
 * pts minus the last audio pts, in seconds: near 0 when the two are in step.
 */
async function avGapSeconds(url: string): Promise<number> {
  const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-rw_timeout', '15000000', '-read_intervals', '%+2',
    '-show_entries', 'packet=codec_type,pts_time', '-of', 'csv=p=0', url], { timeout: 20_000 });
  const last: Record<string, number> = {};
  for (const line of stdout.trim().split('\n')) {
    const [type, pts] = line.split(',');
    if ((type === 'video' || type === 'audio') && pts && pts !== 'N/A') last[type] = Math.max(last[type] ?? -Infinity, Number(pts));
  }
  assert.ok(last.video !== undefined && last.audio !== undefined, `audio and video packets in the output: ${stdout.slice(0, 200)}`);
  return last.video - last.audio;
}

/** assertAvInStep waits for AV_SETTLE_FRAMES output frames of `key`, then checks its output's audio and video timestamps agree. */
async function assertAvInStep(key: string): Promise<void> {
  await waitFor(`${AV_SETTLE_FRAMES} output frames`, async () => {
    const s = (await apiStreams(server!.httpBase)).find((x) => x.key === key) as { stats?: { framesOut?: number } } | undefined;
    return (s?.stats?.framesOut ?? 0) >= AV_SETTLE_FRAMES;
  }, 30_000, 250);
  const gap = await avGapSeconds(`${server!.rtmpBase}/stream-${key}`);
  assert.ok(Math.abs(gap) <= MAX_AV_GAP_S, `audio and video in step in the output: video - audio = ${gap.toFixed(3)} s`);
}

/** assertBackgroundGreen checks an output frame (RGB, W x H) is green in every BACKGROUND region. */
function assertBackgroundGreen(frame: Buffer): void {
  for (const rect of BACKGROUND) {
    const mean = regionMeanRgb(frame, W, rect);
    assert.ok(maxChannelDiff(mean, GREEN) <= COLOUR_TOLERANCE, `background ${rect} is green in the output: ${mean.map(Math.round)}`);
  }
}

async function streamGone(key: string): Promise<void> {
  await waitFor(`stream ${key} gone from /api/streams`, async () => !(await apiStreams(server!.httpBase)).some((s) => s.key === key), END_DEADLINE_MS);
}

test('a browser publishes over WHIP: RTMP and HLS outputs, background replaced, DELETE ends it all', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const key = uniqueKey('whip');
  const page = await newPage();
  const result = await whipPublish(page, `/whip/live/${key}?bg=color&color=00ff00`, { token: SECRET });
  assert.equal(result.status, 201, result.body);
  assert.match(result.body, /^v=0/);
  assert.match(result.body, /a=candidate:/, 'non-trickle: the answer carries the candidates');
  assert.match(result.location ?? '', new RegExp(`^/whip/live/${key}/[A-Za-z0-9_-]+$`));
  assert.equal(result.connection, 'connected');

  const live = await waitFor('the WHIP stream live', async () => (await apiStreams(server!.httpBase)).find((s) => s.key === key && s.state === 'live'), 30_000);
  assert.equal(live.width, W);
  assert.equal(live.height, H);
  assert.equal(live.hasAudio, true, 'Opus from the browser comes out as AAC');

  const rtmp = await probe(`${server!.rtmpBase}/stream-${key}`);
  assert.deepEqual(rtmp.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  const hls = `${server!.httpBase}/live/stream-${key}/index.m3u8`;
  await waitFor('HLS segments', async () => ((await fetchPlaylist(hls))?.segments.length ?? 0) >= 2, 30_000)
    .catch(async (err) => { throw new Error(`${(err as Error).message}; playlist: ${(await fetchPlaylist(hls))?.text}; stream: ${JSON.stringify((await apiStreams(server!.httpBase)).find((s) => s.key === key)?.stats)}`); });
  const hlsProbe = await probe(hls);
  assert.deepEqual(hlsProbe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);

  const [frame] = await grabFramesRgb(`${server!.rtmpBase}/stream-${key}`, W, H, { count: 1, skipFrames: 15 });
  assertBackgroundGreen(frame);
  await assertAvInStep(key);

  const patch = await fetch(`${server!.httpBase}${result.location}`, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag' }, body: 'a=end-of-candidates\r\n' });
  assert.equal(patch.status, 405, 'no trickle ICE: candidates were all in the answer');
  assert.equal(patch.headers.get('allow'), 'DELETE');
  const del = await fetch(`${server!.httpBase}${result.location}`, { method: 'DELETE' });
  assert.equal(del.status, 200, JSON.stringify(server!.logs.filter((l) => Number(l.level) >= 50).slice(-3)));
  await streamGone(key);
  await waitFor('the HLS playlist ended', async () => (await fetchPlaylist(hls))?.ended, END_DEADLINE_MS);
  await waitFor('no ffmpeg left', () => ffmpegChildren(server!.child.pid!).length === 0, END_DEADLINE_MS);
  const again = await fetch(`${server!.httpBase}${result.location}`, { method: 'DELETE' });
  assert.equal(again.status, 404);
  assert.equal(((await again.json()) as { error: string }).error, 'ERR_SESSION_NOT_FOUND');
  await page.close();
});

test('a browser that offers only VP8 publishes too: encoded to H.264 once, audio in step, background replaced', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const key = uniqueKey('vp8');
  const page = await newPage();
  const result = await whipPublish(page, `/whip/live/${key}?bg=color&color=00ff00`, { token: SECRET, onlyVideoCodec: 'VP8' });
  assert.equal(result.status, 201, result.body);
  assert.match(result.body, /a=rtpmap:\d+ VP8\/90000/, 'the answer takes VP8');
  assert.doesNotMatch(result.body, /H264/, 'nothing but VP8 was offered');
  const live = await waitFor('the VP8 stream live', async () => (await apiStreams(server!.httpBase)).find((s) => s.key === key && s.state === 'live'), 30_000);
  assert.equal(live.width, W);
  assert.equal(live.hasAudio, true);
  const rtmp = await probe(`${server!.rtmpBase}/stream-${key}`);
  assert.deepEqual(rtmp.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  const [frame] = await grabFramesRgb(`${server!.rtmpBase}/stream-${key}`, W, H, { count: 1, skipFrames: 15 });
  assertBackgroundGreen(frame);
  await assertAvInStep(key);
  const del = await fetch(`${server!.httpBase}${result.location}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  await streamGone(key);
  await waitFor('no ffmpeg left', () => ffmpegChildren(server!.child.pid!).length === 0, END_DEADLINE_MS);
  await page.close();
});

/** refusedTotal reads livematte_publishes_refused_total{reason} from /metrics. */
async function refusedTotal(reason: string): Promise<number> {
  const text = await (await fetch(`${server!.httpBase}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`livematte_publishes_refused_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** assertNothingRunning checks that a refused publish left no session, stream or ffmpeg behind. */
async function assertNothingRunning(key: string): Promise<void> {
  assert.ok(!(await apiStreams(server!.httpBase)).some((s) => s.key === key), `no stream ${key}`);
  await waitFor('no ffmpeg left', () => ffmpegChildren(server!.child.pid!).length === 0, END_DEADLINE_MS);
}

test('bad offers are refused with a 4xx that says why, and leave nothing running', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const page = await newPage();
  const cases: { name: string; path: string; options: Parameters<typeof whipPublish>[2]; status: number; error: string; reason?: string }[] = [
    { name: 'not an SDP', path: '/whip/live/k1', options: { token: SECRET, mangle: 'not-sdp' }, status: 400, error: 'ERR_WHIP_OFFER', reason: 'offer' },
    { name: 'no video', path: '/whip/live/k2', options: { token: SECRET, video: false }, status: 400, error: 'ERR_WHIP_NO_VIDEO', reason: 'offer' },
    { name: 'only VP9 video', path: '/whip/live/k3', options: { token: SECRET, onlyVideoCodec: 'VP9' }, status: 400, error: 'ERR_WHIP_CODECS', reason: 'offer' },
    { name: 'not application/sdp', path: '/whip/live/k4', options: { token: SECRET, contentType: 'text/plain' }, status: 415, error: 'ERR_WHIP_CONTENT_TYPE' },
    { name: 'no token', path: '/whip/live/k5', options: {}, status: 401, error: 'ERR_UNAUTHORISED', reason: 'token' },
    { name: 'wrong token', path: '/whip/live/k6', options: { token: 'not-the-secret' }, status: 401, error: 'ERR_UNAUTHORISED', reason: 'token' },
    { name: 'bad plugin options', path: '/whip/live/k7?bg=nonsense', options: { token: SECRET }, status: 400, error: 'ERR_PLUGIN_OPTIONS', reason: 'options' },
    { name: 'an output name', path: '/whip/live/stream-k8', options: { token: SECRET }, status: 403, error: 'ERR_OUTPUT_NAME', reason: 'output_name' },
    { name: 'a bad stream key', path: '/whip/live/bad.key', options: { token: SECRET }, status: 400, error: 'ERR_STREAM_KEY', reason: 'stream_key' },
  ];
  for (const c of cases) {
    const before = c.reason ? await refusedTotal(c.reason) : 0;
    const result = await whipPublish(page, c.path, c.options);
    assert.equal(result.status, c.status, `${c.name}: ${result.body}`);
    const body = JSON.parse(result.body) as { error: string; message: string };
    assert.equal(body.error, c.error, `${c.name}: ${result.body}`);
    assert.ok(body.message.length > 10, `${c.name}: the message says why`);
    if (c.reason) assert.equal(await refusedTotal(c.reason), before + 1, `${c.name}: counted under ${c.reason}`);
    await assertNothingRunning(c.path.split('/').pop()!.split('?')[0]);
  }
  const patch = await fetch(`${server!.httpBase}/whip/live/k1/nosuchsession`, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag' }, body: 'a=end-of-candidates' });
  assert.equal(patch.status, 404);
  await page.close();
});

test('a key live over RTMP is 409 for WHIP; a key live over WHIP is 409 for WHIP and refused for RTMP', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const rtmpKey = uniqueKey('rtmp');
  const rtmp = publish(`${server!.rtmpBase}/${rtmpKey}?token=${SECRET}`, ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25']);
  publishers.push(rtmp);
  await waitFor('the RTMP stream', async () => (await apiStreams(server!.httpBase)).some((s) => s.key === rtmpKey), 30_000);
  const page = await newPage();
  const taken = await whipPublish(page, `/whip/live/${rtmpKey}`, { token: SECRET });
  assert.equal(taken.status, 409, taken.body);
  assert.equal(JSON.parse(taken.body).error, 'ERR_KEY_IN_USE');
  await rtmp.stop();

  const key = uniqueKey('whip');
  const first = await whipPublish(page, `/whip/live/${key}`, { token: SECRET });
  assert.equal(first.status, 201, first.body);
  const second = await whipPublish(await newPage(), `/whip/live/${key}`, { token: SECRET });
  assert.equal(second.status, 409, second.body);
  assert.equal(JSON.parse(second.body).error, 'ERR_KEY_IN_USE');
  const refusedBefore = await refusedTotal('key_in_use');
  const hijack = publish(`${server!.rtmpBase}/${key}?token=${SECRET}`, ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25']);
  publishers.push(hijack);
  await waitFor('the RTMP publish refused', async () => (await refusedTotal('key_in_use')) === refusedBefore + 1, 20_000);
  await hijack.stop();
  assert.ok((await apiStreams(server!.httpBase)).some((s) => s.key === key), 'the WHIP stream goes on');
  const del = await fetch(`${server!.httpBase}${first.location}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  await streamGone(key);
  await page.close();
});

test('a tab closed mid-stream ends the session, the stream, its ffmpeg processes and its playlist within seconds', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const key = uniqueKey('tab');
  const page = await newPage();
  const result = await whipPublish(page, `/whip/live/${key}`, { token: SECRET });
  assert.equal(result.status, 201, result.body);
  await waitFor('the stream live', async () => (await apiStreams(server!.httpBase)).some((s) => s.key === key && s.state === 'live'), 30_000);
  const hls = `${server!.httpBase}/live/stream-${key}/index.m3u8`;
  await waitFor('an HLS segment', async () => ((await fetchPlaylist(hls))?.segments.length ?? 0) >= 1, 30_000);
  assert.ok(ffmpegChildren(server!.child.pid!).length >= 3, 'repackager, decoder and encoder run');
  const closedAt = Date.now();
  await page.close();
  await streamGone(key);
  await waitFor('no ffmpeg left', () => ffmpegChildren(server!.child.pid!).length === 0, END_DEADLINE_MS);
  await waitFor('the HLS playlist ended', async () => (await fetchPlaylist(hls))?.ended, END_DEADLINE_MS);
  const tookMs = Date.now() - closedAt;
  assert.ok(tookMs < END_DEADLINE_MS, `ended ${tookMs} ms after the tab closed`);
  const ended = server!.logs.find((l) => l.msg === 'WHIP session ended' && String(l.streamPath) === `/live/${key}`);
  assert.ok(ended, 'the session end is logged');
  console.log(`# tab closed: session ended (${String(ended.reason)}), everything gone ${tookMs} ms after page.close()`);
  // The key is free again.
  const again = await whipPublish(await newPage(), `/whip/live/${key}`, { token: SECRET });
  assert.equal(again.status, 201, again.body);
  await fetch(`${server!.httpBase}${again.location}`, { method: 'DELETE' });
  await streamGone(key);
});
