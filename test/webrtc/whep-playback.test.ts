/**
 * Issue #22, WHEP playback: a stream published from Chromium over WHIP (background painted green)
 * is played back over WebRTC by two other pages at once, each its own session: both decode video
 * frames of the processed stream and receive Opus audio; a viewer's DELETE ends only its session;
 * the last viewer gone ends the stream's feed ffmpeg. Offers for outputs that are not live are 404.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { mediaSkip, mediaFile, uniqueKey, apiStreams, ffmpegChildren } from '../helpers/e2e-media.ts';
import { launchCameraChromium, makeCameraY4m, whepPlay, whepStats, whipPublish } from './webrtc-browser.ts';

let server: ServerProcess | undefined;
let browser: Browser | undefined;
let work: string | undefined;

before(async () => {
  if (mediaSkip) return;
  work = mkdtempSync(join(tmpdir(), 'whep-test-'));
  const y4m = makeCameraY4m(mediaFile('sister.mkv'), work, 640, 480, 3);
  server = await startServer();
  browser = await launchCameraChromium(y4m);
});

after(async () => {
  if (process.env.WHIP_TEST_LOGS && server) (await import('node:fs')).writeFileSync(process.env.WHIP_TEST_LOGS, server.logs.map((l) => JSON.stringify(l)).join('\n'));
  await browser?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function newPage() {
  const page = await browser!.newPage();
  await page.goto(`${server!.httpBase}/`);
  return page;
}

test('two WHEP viewers play the processed stream, each its own session; the feed ends with its last viewer', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const key = uniqueKey('whep');
  const publisher = await newPage();
  const pub = await whipPublish(publisher, `/whip/live/${key}?bg=color&color=00ff00`);
  assert.equal(pub.status, 201, pub.body);
  await waitFor('the stream live', async () => (await apiStreams(server!.httpBase)).some((s) => s.key === key && s.state === 'live'), 30_000);
  const childrenBefore = ffmpegChildren(server!.child.pid!).length;

  const viewers = [await newPage(), await newPage()];
  const plays = [];
  for (const v of viewers) {
    const t0 = Date.now();
    const play = await whepPlay(v, `/whep/live/stream-${key}`);
    assert.equal(play.status, 201, play.body);
    assert.match(play.location ?? '', new RegExp(`^/whep/live/stream-${key}/[A-Za-z0-9_-]+$`));
    const stats = await waitFor('video frames decoded', async () => { const s = await whepStats(v); return s.framesDecoded > 10 ? s : undefined; }, 20_000);
    assert.equal(stats.width, 640);
    assert.equal(stats.height, 480);
    console.log(`# WHEP viewer: ${stats.framesDecoded} frames decoded ${Date.now() - t0} ms after its POST`);
    plays.push(play);
  }
  await waitFor('audio packets', async () => (await whepStats(viewers[0])).audioPackets > 20, 10_000);
  assert.equal(ffmpegChildren(server!.child.pid!).length, childrenBefore + 1, 'one feed ffmpeg for both viewers');

  const del = await fetch(`${server!.httpBase}${plays[0].location}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  const before = (await whepStats(viewers[1])).framesDecoded;
  await waitFor('the other viewer goes on', async () => (await whepStats(viewers[1])).framesDecoded > before + 15, 10_000);
  const del2 = await fetch(`${server!.httpBase}${plays[1].location}`, { method: 'DELETE' });
  assert.equal(del2.status, 200);
  await waitFor('the feed ffmpeg gone', () => ffmpegChildren(server!.child.pid!).length === childrenBefore, 10_000);

  await fetch(`${server!.httpBase}${pub.location}`, { method: 'DELETE' });
  for (const p of [publisher, ...viewers]) await p.close();
});

test('WHEP refuses outputs that are not live, raw inputs and non-SDP bodies', { skip: mediaSkip, timeout: 60_000 }, async () => {
  const page = await newPage();
  const none = await whepPlay(page, '/whep/live/stream-nobody');
  assert.equal(none.status, 404);
  assert.equal(JSON.parse(none.body).error, 'ERR_STREAM_NOT_FOUND');
  const raw = await whepPlay(page, '/whep/live/nobody');
  assert.equal(raw.status, 404);
  const text = await fetch(`${server!.httpBase}/whep/live/stream-nobody`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
  assert.equal(text.status, 415);
  assert.equal(((await text.json()) as { error: string }).error, 'ERR_WHEP_CONTENT_TYPE');
  await page.close();
});

test('the /publish page publishes the camera and shows the processed stream beside it', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const key = uniqueKey('page');
  const page = await browser!.newPage();
  await page.goto(`${server!.httpBase}/publish?key=${key}&bg=color`);
  assert.match(page.url(), /\/publish\.html\?/);
  await page.click('#start');
  await page.waitForFunction(() => (window as unknown as { publishState: { status: string; error: unknown } }).publishState.status === 'live'
    || (window as unknown as { publishState: { status: string } }).publishState.status === 'error', undefined, { timeout: 60_000 });
  const state = await page.evaluate(() => (window as unknown as { publishState: Record<string, unknown> }).publishState);
  assert.equal(state.status, 'live', JSON.stringify(state));
  await page.waitForFunction(() => (window as unknown as { publishState: { framesDecoded: number } }).publishState.framesDecoded > 10, undefined, { timeout: 20_000 })
    .catch(async (err) => { throw new Error(`${(err as Error).message}: ${await page.evaluate(() => JSON.stringify((window as unknown as { publishState: unknown }).publishState))} ${await page.textContent('#publish-stats')}`); });
  const stream = (await apiStreams(server!.httpBase)).find((s) => s.key === key);
  assert.equal((stream?.background as { mode?: string } | undefined)?.mode, 'color', 'the page\'s options reach the stream');
  const sent = await page.textContent('[data-stat="sent"]');
  assert.match(sent ?? '', /\d+x\d+ \d+ fps/);
  await page.click('#stop');
  await waitFor('the stream gone', async () => !(await apiStreams(server!.httpBase)).some((s) => s.key === key), 15_000);
  await page.close();
});

test('the player plays a stream over WebRTC when chosen, and over HLS where the browser has no WebRTC', { skip: mediaSkip, timeout: 150_000 }, async () => {
  const key = uniqueKey('player');
  const publisher = await newPage();
  const pub = await whipPublish(publisher, `/whip/live/${key}?bg=blur`);
  assert.equal(pub.status, 201, pub.body);
  await waitFor('the stream live', async () => (await apiStreams(server!.httpBase)).some((s) => s.key === key && s.state === 'live'), 30_000);

  const player = await browser!.newPage();
  await player.addInitScript(() => localStorage.setItem('livematte.webrtc', '1'));
  await player.goto(`${server!.httpBase}/#${key}`);
  await player.waitForFunction(() => (window as unknown as { playerState: { engine: string; status: string } }).playerState.engine === 'webrtc'
    && (window as unknown as { playerState: { status: string } }).playerState.status === 'playing', undefined, { timeout: 30_000 });
  // A string: tsx would wrap a named function in a helper the page does not have.
  const frames = await player.evaluate(`new Promise((resolve) => {
    const video = document.getElementById('video');
    let n = 0;
    const onFrame = () => { if (++n >= 10) resolve(n); else video.requestVideoFrameCallback(onFrame); };
    video.requestVideoFrameCallback(onFrame);
  })`);
  assert.equal(frames, 10, 'video frames presented over WebRTC');
  await player.close();

  const noWebrtc = await browser!.newPage();
  await noWebrtc.addInitScript(() => {
    localStorage.setItem('livematte.webrtc', '1');
    delete (window as unknown as { RTCPeerConnection?: unknown }).RTCPeerConnection;
  });
  await noWebrtc.goto(`${server!.httpBase}/#${key}`);
  await noWebrtc.waitForFunction(() => (window as unknown as { playerState: { status: string } }).playerState.status === 'playing', undefined, { timeout: 60_000 });
  const engine = await noWebrtc.evaluate(() => (window as unknown as { playerState: { engine: string } }).playerState.engine);
  assert.notEqual(engine, 'webrtc');
  assert.equal(await noWebrtc.isDisabled('#webrtc-toggle'), true);
  await noWebrtc.close();
  await fetch(`${server!.httpBase}${pub.location}`, { method: 'DELETE' });
  await publisher.close();
});
