/**
 * Issue #22: `pipeline.maxStreams` counts RTMP and WebRTC publishers together: with one place, a
 * WHIP offer while an RTMP publisher is live is 503 `ERR_SERVER_FULL`, and an RTMP publish while a
 * WHIP session is live is refused (`server_full`); a server shut down (SIGTERM) with a live WHIP
 * session ends it and its ffmpeg processes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish } from '../helpers/ffmpeg-tools.ts';
import { mediaSkip, mediaFile, uniqueKey, apiStreams, childPids } from '../helpers/e2e-media.ts';
import { launchCameraChromium, makeCameraY4m, whipPublish } from './webrtc-browser.ts';

let server: ServerProcess | undefined;
let browser: Browser | undefined;
let work: string | undefined;

before(async () => {
  if (mediaSkip) return;
  work = mkdtempSync(join(tmpdir(), 'whip-limits-'));
  server = await startServer([], { LIVEMATTE_PIPELINE_MAX_STREAMS: '1' });
  browser = await launchCameraChromium(makeCameraY4m(mediaFile('sister.mkv'), work, 640, 480, 3));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function refusedTotal(reason: string): Promise<number> {
  const text = await (await fetch(`${server!.httpBase}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`livematte_publishes_refused_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('pipeline.maxStreams counts RTMP and WHIP publishers together; SIGTERM ends a live WHIP session', { skip: mediaSkip, timeout: 120_000 }, async () => {
  const rtmpKey = uniqueKey('rtmp');
  const rtmp = publish(`${server!.rtmpBase}/${rtmpKey}?bg=none`, ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25']);
  await waitFor('the RTMP stream', async () => (await apiStreams(server!.httpBase)).some((s) => s.key === rtmpKey), 30_000);
  const page = await browser!.newPage();
  await page.goto(`${server!.httpBase}/`);
  const full = await whipPublish(page, `/whip/live/${uniqueKey('whip')}`);
  assert.equal(full.status, 503, full.body);
  assert.equal(JSON.parse(full.body).error, 'ERR_SERVER_FULL');
  await rtmp.stop();
  await waitFor('the RTMP stream gone', async () => !(await apiStreams(server!.httpBase)).some((s) => s.key === rtmpKey), 15_000);

  const key = uniqueKey('whip');
  const ok = await whipPublish(page, `/whip/live/${key}`);
  assert.equal(ok.status, 201, ok.body);
  await waitFor('the WHIP stream live', async () => (await apiStreams(server!.httpBase)).some((s) => s.key === key && s.state === 'live'), 30_000);
  const before = await refusedTotal('server_full');
  const second = publish(`${server!.rtmpBase}/${uniqueKey('rtmp')}`, ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25']);
  await waitFor('the RTMP publish refused as server_full', async () => (await refusedTotal('server_full')) === before + 1, 20_000);
  await second.stop();

  const children = await waitFor('repackager, decoder and encoder', () => { const c = childPids(server!.child.pid!).map((p) => p.pid); return c.length >= 3 ? c : undefined; }, 10_000);
  const code = await server!.stop();
  server = undefined;
  assert.equal(code, 0, 'a clean exit');
  const alive = children.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
  assert.deepEqual(alive, [], 'no child outlives the server');
  await page.close();
});
