/**
 * End-to-end test of the player page: the real server, ffmpeg publishers and Debian Chromium.
 * It checks the list, hls.js playback of the processed stream, the figures, a live background
 * change through the form, and recovery when the publisher leaves and comes back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { freePort } from '../helpers/free-port.ts';
import { REPO_ROOT, SHARED_MEDIA, startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const PERSON_CLIP = join(SHARED_MEDIA, 'sister.mkv');
/** Synthetic 320x240 25 fps test card with a 440 Hz tone, 1 s GOP. */
const DEMO_INPUT = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];
const DEMO_ENCODE = ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k'];
const PERSON_INPUT = ['-stream_loop', '-1', '-i', PERSON_CLIP];
const PERSON_ENCODE = ['-vf', 'scale=320:240', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p', '-an'];
/** Playback must move this many seconds of media time to count as playing. */
const PLAY_SECONDS = 3;
const NUMBER = /^\d+(\.\d+)?$/;

interface PlayerState {
  streamKey: string | null;
  status: string;
  engine: string;
  hlsErrors: { type: string; details: string; fatal: boolean; reason?: string }[];
  fatalErrors: number;
  recoveries: number;
  fragmentsLoaded: number;
}

interface ApiStream { key: string; state: string; hlsPath: string; background: Record<string, unknown> }

async function apiStreams(server: ServerProcess): Promise<ApiStream[]> {
  const response = await fetch(`${server.httpBase}/api/streams`);
  return ((await response.json()) as { streams: ApiStream[] }).streams;
}

/** waitForLiveOutput resolves once `key` is live and its playlist lists at least two segments. */
async function waitForLiveOutput(server: ServerProcess, key: string): Promise<void> {
  await waitFor(`'${key}' live in /api/streams`, async () => (await apiStreams(server)).find((s) => s.key === key)?.state === 'live', 45000, 250);
  await waitFor(`'${key}' playlist with >= 2 segments`, async () => {
    const response = await fetch(`${server.httpBase}/live/stream-${key}/index.m3u8`);
    if (!response.ok) return false;
    const text = await response.text();
    return !text.includes('#EXT-X-ENDLIST') && (text.match(/^#EXTINF:/gm) ?? []).length >= 2;
  }, 45000, 250);
}

function playerState(page: Page): Promise<PlayerState> {
  return page.evaluate(() => (window as unknown as { playerState: PlayerState }).playerState);
}

/** waitForPlayback resolves when the video's currentTime moved `seconds` past where it is now. */
async function waitForPlayback(page: Page, seconds: number, timeoutMs = 40000): Promise<void> {
  const start = await page.evaluate(() => document.querySelector('video')!.currentTime);
  await page.waitForFunction(([from, by]) => {
    const video = document.querySelector('video')!;
    return !video.paused && video.currentTime >= from + by;
  }, [start, seconds] as const, { timeout: timeoutMs, polling: 250 }).catch(async (err: Error) => {
    const state = await playerState(page);
    const video = await page.evaluate(() => { const v = document.querySelector('video')!; return { t: v.currentTime, paused: v.paused, ready: v.readyState, error: v.error?.message }; });
    throw new Error(`playback did not advance ${seconds} s from ${start} within ${timeoutMs} ms: video ${JSON.stringify(video)}, state ${JSON.stringify({ ...state, hlsErrors: state.hlsErrors.slice(-5) })}: ${err.message}`);
  });
}

describe('player page', { timeout: 300000 }, () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let demo: Publisher;
  let person: Publisher | undefined;
  let h264 = false;
  const pageErrors: string[] = [];
  const hasPersonClip = existsSync(PERSON_CLIP);

  before(async () => {
    // `--rtmp-port 0` gives no RTMP listener with node-media-server v4 (see helpers/free-port.ts).
    [server, browser] = await Promise.all([startServer(['--rtmp-port', String(await freePort())]), launchChromium()]);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  after(async () => {
    await browser?.close();
    await Promise.all([demo?.stop(), person?.stop()]);
    await server?.stop();
  });

  test('Chromium has Media Source Extensions with H.264', async (t) => {
    await page.goto(`${server.httpBase}/`);
    h264 = await page.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f"'));
    t.diagnostic(`MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f"') = ${h264}`);
    // Without H.264 every playback check below degrades to what hls.js can show (manifest and
    // fragments loaded, only codec errors); this test keeps that loss visible.
    assert.ok(h264, 'this Chromium build cannot decode H.264 through MSE');
  });

  test('with nothing published, tells how to publish', async () => {
    await page.locator('#empty-state').waitFor({ timeout: 10000 });
    await page.locator('#server-status[data-state="ok"]').waitFor({ timeout: 10000 });
    const command = `ffmpeg -re -stream_loop -1 -i talk.mp4 -c copy -f flv rtmp://127.0.0.1:${server.rtmpPort}/live/demo`;
    await waitFor('the ffmpeg command with the RTMP port', async () => (await page.locator('[data-command="ffmpeg"]').innerText()) === command, 5000, 100);
    assert.match(await page.locator('#empty-state').innerText(), /OBS/);
    assert.equal(await page.locator('#stream-view').isHidden(), true);
    await page.screenshot({ path: join(ARTIFACTS, 'player-empty.png') });
    assert.deepEqual(pageErrors, []);
  });

  test('lists the live streams and plays the processed HLS with hls.js', async () => {
    demo = publish(`${server.rtmpBase}/demo`, DEMO_INPUT, DEMO_ENCODE);
    if (hasPersonClip) person = publish(`${server.rtmpBase}/person?bg=blur`, PERSON_INPUT, PERSON_ENCODE);
    await Promise.all([waitForLiveOutput(server, 'demo'), person && waitForLiveOutput(server, 'person')]);
    // The page stays open from the empty state: the 2 s refresh must pick the streams up.
    await page.locator('[data-stream-key="demo"]').waitFor({ timeout: 10000 });
    if (person) await page.locator('[data-stream-key="person"]').waitFor({ timeout: 10000 });
    await page.locator('#empty-state').waitFor({ state: 'hidden', timeout: 5000 });
    await page.locator('[data-stream-key="demo"]').click();
    assert.equal(await page.locator('[data-stream-key="demo"]').getAttribute('aria-current'), 'true');
    assert.equal(await page.evaluate(() => location.hash), '#demo');
    await page.waitForFunction(() => (window as unknown as { playerState: PlayerState }).playerState.streamKey === 'demo');
    const fragmentsBefore = (await playerState(page)).fragmentsLoaded;
    await page.waitForFunction((n) => (window as unknown as { playerState: PlayerState }).playerState.fragmentsLoaded >= n + 2, fragmentsBefore, { timeout: 30000 });
    if (h264) {
      await waitForPlayback(page, PLAY_SECONDS);
      await page.waitForFunction(() => (window as unknown as { playerState: PlayerState }).playerState.status === 'playing', undefined, { timeout: 10000 });
    }
    const state = await playerState(page);
    assert.equal(state.engine, 'hls.js');
    assert.equal(state.streamKey, 'demo');
    const fatal = state.hlsErrors.filter((e) => e.fatal && (h264 || !/codec|incompatible|bufferAddCodecError/i.test(`${e.details} ${e.reason}`)));
    assert.deepEqual(fatal, [], 'no fatal hls.js errors');
    if (h264) assert.equal(state.fatalErrors, 0);
    assert.match(await page.locator('[data-url="hls"]').innerText(), new RegExp(`^${server.httpBase}/live/stream-demo/index\\.m3u8$`));
    assert.equal(await page.locator('[data-url="processed-rtmp"]').innerText(), `rtmp://127.0.0.1:${server.rtmpPort}/live/stream-demo`);
    assert.equal(await page.locator('[data-url="original-rtmp"]').innerText(), `rtmp://127.0.0.1:${server.rtmpPort}/live/demo`);
    assert.deepEqual(pageErrors, []);
  });

  test('shows the pipeline figures as numbers', async () => {
    const stat = async (name: string) => (await page.locator(`[data-stat="${name}"]`).innerText()).replace(/ (fps|ms|s)$/, '');
    await waitFor('fps out > 0 on the page', async () => Number(await stat('fpsOut')) > 0, 20000, 250);
    for (const name of ['fpsIn', 'fpsOut', 'droppedFrames', 'inferenceMs', 'latencyP50', 'latencyP95']) {
      assert.match(await stat(name), NUMBER, `${name} is a number`);
    }
    assert.ok(Number(await stat('fpsIn')) > 0, 'fps in > 0');
    assert.ok(Number(await stat('inferenceMs')) > 0, 'inference ms > 0');
    assert.equal(await stat('resolution'), '320×240');
    assert.equal(await stat('audio'), 'Yes');
    if (h264) await waitFor('behind-live seconds', async () => NUMBER.test(await stat('behindLive')), 10000, 250);
  });

  test('recovers from fatal network errors with hls.startLoad()', async (t) => {
    const started = Date.now();
    const playlist = `${server.httpBase}/live/stream-demo/index.m3u8`;
    const before = await playerState(page);
    // Refusing the playlist refreshes exhausts hls.js's own retries: a fatal LEVEL_LOAD_ERROR.
    await page.route(playlist, (route) => route.abort('connectionrefused'));
    try {
      await page.waitForFunction((n) => (window as unknown as { playerState: PlayerState }).playerState.fatalErrors > n, before.fatalErrors, { timeout: 30000, polling: 100 });
    } finally {
      await page.unroute(playlist);
    }
    t.diagnostic(`fatal network error after ${Date.now() - started} ms of refused playlist requests`);
    await page.waitForFunction((n) => (window as unknown as { playerState: PlayerState }).playerState.recoveries > n, before.recoveries, { timeout: 20000 });
    const state = await playerState(page);
    const fatal = state.hlsErrors.slice(before.hlsErrors.length).filter((e) => e.fatal);
    assert.ok(fatal.length > 0 && fatal.every((e) => e.type === 'networkError'), JSON.stringify(fatal));
    if (h264) {
      await waitForPlayback(page, PLAY_SECONDS);
      await page.waitForFunction(() => (window as unknown as { playerState: PlayerState }).playerState.status === 'playing', undefined, { timeout: 20000 });
    }
    const fragments = (await playerState(page)).fragmentsLoaded;
    await page.waitForFunction((n) => (window as unknown as { playerState: PlayerState }).playerState.fragmentsLoaded >= n + 2, fragments, { timeout: 20000 });
    assert.deepEqual(pageErrors, []);
  });

  test('recovers from fatal media errors, swapping the audio codec when one repeats', async () => {
    const before = await playerState(page);
    // Two fatal media errors 1 s apart, as hls.js raises them; spies count what the player calls:
    // recoverMediaError(), then swapAudioCodec() + recoverMediaError().
    const calls = await page.evaluate(`(async () => {
      const { default: Hls } = await import('/vendor/hls.js/hls.min.mjs');
      const hls = window.playerState.hls;
      const calls = [];
      for (const name of ['recoverMediaError', 'swapAudioCodec']) {
        const original = hls[name].bind(hls);
        hls[name] = () => { calls.push(name); return original(); };
      }
      const error = { type: Hls.ErrorTypes.MEDIA_ERROR, details: Hls.ErrorDetails.BUFFER_APPEND_ERROR, fatal: true };
      hls.trigger(Hls.Events.ERROR, { ...error, error: new Error('test: synthetic media error 1') });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      hls.trigger(Hls.Events.ERROR, { ...error, error: new Error('test: synthetic media error 2') });
      return calls;
    })()`);
    assert.deepEqual(calls, ['recoverMediaError', 'swapAudioCodec', 'recoverMediaError']);
    const state = await playerState(page);
    assert.equal(state.fatalErrors, before.fatalErrors + 2);
    assert.equal(state.recoveries, before.recoveries + 2);
    // recoverMediaError() aborts the fragment in flight: non-fatal 'aborted' entries may follow.
    assert.deepEqual(state.hlsErrors.slice(before.hlsErrors.length).filter((e) => e.fatal).map((e) => `${e.type}/${e.details}`),
      ['mediaError/bufferAppendError', 'mediaError/bufferAppendError']);
    if (h264) {
      await waitForPlayback(page, PLAY_SECONDS);
      await page.waitForFunction(() => (window as unknown as { playerState: PlayerState }).playerState.status === 'playing', undefined, { timeout: 20000 });
    }
    assert.deepEqual(pageErrors, []);
  });

  test('changing the background in the form changes it on the server', async () => {
    const background = async () => (await apiStreams(server)).find((s) => s.key === 'demo')?.background;
    await page.locator('.modes input[value="blur"]').check();
    await waitFor('mode blur on the server', async () => (await background())?.mode === 'blur', 10000, 200);
    await page.locator('.modes input[value="color"]').check();
    await page.locator('#bg-color').fill('#00ff00');
    await waitFor('colour 00ff00 on the server', async () => {
      const bg = await background();
      return bg?.mode === 'color' && bg.color === '00ff00';
    }, 10000, 200);
    await page.locator('#bg-status[data-state="ok"]').waitFor({ timeout: 5000 });
    assert.match(await page.locator('#bg-status').innerText(), /colour #00ff00/);

    // Let segments encoded after the change reach the player before the screenshot.
    if (h264) await waitForPlayback(page, 4);
    if (person) {
      await page.locator('[data-stream-key="person"]').click();
      await page.waitForFunction(() => (window as unknown as { playerState: PlayerState }).playerState.streamKey === 'person');
      if (h264) await waitForPlayback(page, PLAY_SECONDS);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'player.png'), fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    phone.on('pageerror', (err) => pageErrors.push(`phone: ${err.message}`));
    await phone.goto(`${server.httpBase}/#demo`);
    await phone.locator('#player-status[data-status="playing"]').waitFor({ timeout: 30000 }).catch(() => undefined);
    await phone.screenshot({ path: join(ARTIFACTS, 'player-phone.png'), fullPage: true });
    await phone.close();
    assert.deepEqual(pageErrors, []);
  });

  test('shows the end of the stream and resumes when the publisher returns', async (t) => {
    await page.locator('[data-stream-key="demo"]').click();
    await page.waitForFunction(() => (window as unknown as { playerState: PlayerState }).playerState.streamKey === 'demo');
    if (h264) await waitForPlayback(page, 1);

    await demo.stop();
    await page.locator('#player-status[data-status="ended"]').waitFor({ timeout: 20000 });
    await page.locator('#overlay:not([hidden])').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#overlay-title').innerText(), 'Stream ended');
    if (person) {
      await page.locator('#overlay-next:not([hidden])').waitFor({ timeout: 5000 });
      assert.match(await page.locator('#overlay-next').innerText(), /person/);
    }
    await waitFor('demo gone from the list', async () => (await page.locator('[data-stream-key="demo"]').count()) === 0, 10000, 250);
    await page.screenshot({ path: join(ARTIFACTS, 'player-ended.png') });
    assert.deepEqual(pageErrors, []);

    const fragmentsBefore = (await playerState(page)).fragmentsLoaded;
    demo = publish(`${server.rtmpBase}/demo`, DEMO_INPUT, DEMO_ENCODE);
    await page.locator('[data-stream-key="demo"]').waitFor({ timeout: 30000 });
    await page.waitForFunction((n) => (window as unknown as { playerState: PlayerState }).playerState.fragmentsLoaded >= n + 2, fragmentsBefore, { timeout: 45000 });
    await page.locator('#overlay').waitFor({ state: 'hidden', timeout: 5000 });
    if (h264) {
      await page.waitForFunction(() => (window as unknown as { playerState: PlayerState }).playerState.status === 'playing', undefined, { timeout: 30000 });
      await waitForPlayback(page, PLAY_SECONDS);
    }
    const state = await playerState(page);
    t.diagnostic(`after recovery: ${JSON.stringify({ ...state, hlsErrors: state.hlsErrors.map((e) => `${e.fatal ? 'FATAL ' : ''}${e.details}`) })}`);
    assert.equal(state.streamKey, 'demo');
    assert.deepEqual(pageErrors, []);
  });
});
