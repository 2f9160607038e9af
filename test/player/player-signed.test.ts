/**
 * The player page with `auth.playSecret` (issue #19 item 6): opened with a signed query
 * (`/?expires=..&sig=..`, here for `/live/`, every stream), it passes the query on to the playlist
 * and hls.js plays the processed HLS, whose segments the server lists with the same query.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { signedQuery } from '../../server/security/play-signature.ts';

interface PlayerState { streamKey: string | null; status: string; fragmentsLoaded: number; fatalErrors: number; hlsErrors: unknown[] }
const SECRET = 'player-signed-secret';
const state = (page: Page) => page.evaluate(() => (window as unknown as { playerState: PlayerState }).playerState);

describe('player page with a play secret', { timeout: 180000 }, () => {
  let server: ServerProcess;
  let browser: Browser;
  let demo: Publisher | undefined;
  const query = signedQuery(SECRET, '/live/', Math.floor(Date.now() / 1000) + 600);

  before(async () => {
    [server, browser] = await Promise.all([
      startServer(['--workers', '1'], { LIVEMATTE_PLAY_SECRET: SECRET, LIVEMATTE_HLS_SEGMENT_DURATION_MS: '1000' }),
      launchChromium(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await demo?.stop();
    await server?.stop();
  });

  test('plays the processed HLS with the page\'s signed query', async () => {
    demo = publish(`${server.rtmpBase}/demo?bg=none`, ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
      ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p']);
    await waitFor('two segments in the signed playlist', async () => {
      const res = await fetch(`${server.httpBase}/live/stream-demo/index.m3u8?${query}`);
      return res.ok && ((await res.text()).match(/^#EXTINF:/gm) ?? []).length >= 2;
    }, 60000, 250);
    assert.equal((await fetch(`${server.httpBase}/live/stream-demo/index.m3u8`)).status, 403, 'unsigned, the playlist is refused');
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.httpBase}/?${query}#demo`);
    await page.waitForFunction(() => (window as unknown as { playerState: PlayerState }).playerState.fragmentsLoaded >= 2, undefined, { timeout: 40000 })
      .catch(async (err: Error) => { throw new Error(`${err.message}; state ${JSON.stringify(await state(page))}`); });
    await page.waitForFunction(() => { const v = document.querySelector('video')!; return !v.paused && v.currentTime >= 2; }, undefined, { timeout: 30000, polling: 250 });
    const s = await state(page);
    assert.equal(s.streamKey, 'demo');
    assert.equal(s.fatalErrors, 0, JSON.stringify(s.hlsErrors));
    assert.equal(await page.locator('[data-url="hls"]').innerText(), `${server.httpBase}/live/stream-demo/index.m3u8?${query}`);
    assert.equal(await page.locator('[data-url="processed-rtmp"]').innerText(), `rtmp://127.0.0.1:${server.rtmpPort}/live/stream-demo?${query}`);
    assert.deepEqual(pageErrors, []);
  });
});
