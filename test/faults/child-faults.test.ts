/**
 * Issue #5, faults inside the server: a live stream's decoder or encoder ffmpeg killed with
 * SIGKILL is restarted with backoff and the output resumes within 3 s (the playlist marks the
 * encoder restart with a discontinuity and stays readable); a plugin that throws on every frame (an
 * image background whose file is corrupt) lets frames pass unprocessed, counts pluginErrors and
 * keeps the stream.
 *
 * The server runs with 1 s HLS segments and keyframes so that "a new segment appeared" measures the
 * restart, not the segment length.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, probe, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { fetchPlaylist, startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { ffmpegChildArgs, isDecoderArgs, isEncoderArgs, streamEntry } from '../helpers/fault-tools.ts';

const RESUME_LIMIT_MS = 3000;
let server: ServerProcess;
let work: string;
const publishers = new Set<Publisher>();
const key = uniqueKey('kill');
const path = `/live/${key}`;

function start(streamKey: string): Publisher {
  const p = publish(`${server.rtmpBase}/${streamKey}`, ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25'],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p']);
  publishers.add(p);
  return p;
}

const hlsUrl = (k: string) => `${server.httpBase}/live/stream-${k}/index.m3u8`;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'faults-child-'));
  mkdirSync(join(work, 'backgrounds'));
  // A file the image loader will find by name but sharp cannot decode.
  writeFileSync(join(work, 'backgrounds', 'corrupt.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(4000)]));
  server = await startServerOnFreePorts([], {
    LIVEMATTE_HLS_SEGMENT_DURATION_MS: '1000',
    LIVEMATTE_ENCODER_KEYFRAME_INTERVAL_MS: '1000',
    LIVEMATTE_BACKGROUND_IMAGES_DIR: join(work, 'backgrounds'),
  });
  start(key);
  await waitFor('the stream to be live with HLS segments', async () => {
    const e = await streamEntry(server.httpBase, key);
    const pl = await fetchPlaylist(hlsUrl(key));
    return e?.state === 'live' && (pl?.segments.length ?? 0) >= 2;
  }, 60000, 250);
});

after(async () => {
  await Promise.all([...publishers].map((p) => p.stop()));
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function onlyChild(match: (args: string[]) => boolean, what: string): number {
  const found = ffmpegChildArgs(server.child.pid!).filter((c) => match(c.args));
  assert.equal(found.length, 1, `expected one ${what} child, found ${found.length}`);
  return found[0].pid;
}

test('decoder stopped (SIGSTOP) for 5 s: about 1 s of input queues for it, the rest is dropped to a keyframe; frames flow again after SIGCONT', { timeout: 60000 }, async (t) => {
  // A stopped process is the extreme of a decoder short of CPU: without the bound, all 5 s of
  // input would wait for it and the stream would keep that latency.
  const pid = onlyChild(isDecoderArgs, 'decoder');
  const before = await streamEntry(server.httpBase, key);
  const skippedBefore = Number(before!.stats.decoderSkippedTags);
  process.kill(pid, 'SIGSTOP');
  const backlog: number[] = [];
  try {
    for (const end = Date.now() + 5000; Date.now() < end;) {
      backlog.push(Number((await streamEntry(server.httpBase, key))!.stats.decoderBacklogMs));
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const during = await streamEntry(server.httpBase, key);
  const framesIn = Number(during!.stats.framesIn);
  t.diagnostic(`decoder backlog while stopped (ms, every 0.5 s): ${backlog.filter((_, i) => i % 5 === 0).join(' ')}; max ${Math.max(...backlog)}; skipped tags ${Number(during!.stats.decoderSkippedTags) - skippedBefore}`);
  // The bound is 1 s at the stream's recent bitrate; a keyframe is larger than the average tag.
  assert.ok(Math.max(...backlog) <= 1500, `backlog reached ${Math.max(...backlog)} ms`);
  assert.ok(Math.max(...backlog) >= 500, 'the backlog was measured while the decoder was stopped');
  assert.ok(Number(during!.stats.decoderSkippedTags) > skippedBefore, 'input was dropped while the decoder was stopped');
  const resumed = await waitFor('decoded frames and an empty backlog after SIGCONT', async () => {
    const e = await streamEntry(server.httpBase, key);
    return e && Number(e.stats.framesIn) > framesIn + 25 && Number(e.stats.decoderBacklogMs) === 0 && e;
  }, 15000, 100);
  assert.equal(resumed.state, 'live');
});

test('decoder SIGKILLed: restarted with backoff, frames flow again within 3 s', { timeout: 60000 }, async (t) => {
  const pid = onlyChild(isDecoderArgs, 'decoder');
  const before = await streamEntry(server.httpBase, key);
  const framesIn = Number(before!.stats.framesIn);
  const restarts = Number(before!.stats.restarts);
  const from = server.logs.length;
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  const resumed = await waitFor('decoded frames after the kill', async () => {
    const e = await streamEntry(server.httpBase, key);
    const newPid = ffmpegChildArgs(server.child.pid!).find((c) => isDecoderArgs(c.args) && c.pid !== pid);
    return newPid && e && Number(e.stats.framesIn) > framesIn + 5 && { e, ms: Date.now() - killedAt };
  }, 20000, 100);
  const warn = server.logs.slice(from).find((l) => l.streamPath === path && l.msg === 'decoder exited; restarting');
  t.diagnostic(`decoder ${pid} killed; frames flowing again after ${resumed.ms} ms (backoff ${warn?.delayMs} ms), restarts ${resumed.e.stats.restarts}`);
  assert.ok(warn, 'one warning names the stream and the decoder exit');
  assert.equal(warn.signal, 'SIGKILL');
  assert.equal(Number(resumed.e.stats.restarts), restarts + 1);
  assert.ok(resumed.ms <= RESUME_LIMIT_MS, `resumed after ${resumed.ms} ms`);
  // The encoder ran on: the playlist keeps growing and stays readable.
  const last = (await fetchPlaylist(hlsUrl(key)))!.segments.at(-1)!.uri;
  await waitFor('a new HLS segment', async () => (await fetchPlaylist(hlsUrl(key)))?.segments.at(-1)?.uri !== last, 10000, 200);
  const hls = await probe(hlsUrl(key), 15000);
  assert.ok(hls.streams.some((s) => s.codec_type === 'video'), 'HLS readable');
});

test('encoder SIGKILLed: restarted, new HLS segments after a discontinuity within 3 s', { timeout: 60000 }, async (t) => {
  const pid = onlyChild(isEncoderArgs, 'encoder');
  const before = (await fetchPlaylist(hlsUrl(key)))!;
  const lastUri = before.segments.at(-1)!.uri;
  const from = server.logs.length;
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  const resumed = await waitFor('a new segment after a discontinuity', async () => {
    const pl = await fetchPlaylist(hlsUrl(key));
    if (!pl) return false;
    const lines = pl.text.split('\n').map((l) => l.trim());
    const at = lines.indexOf(lastUri);
    if (at < 0) return false;
    const after = lines.slice(at + 1);
    const disc = after.indexOf('#EXT-X-DISCONTINUITY');
    return disc >= 0 && after.slice(disc + 1).some((l) => l.endsWith('.ts')) && { pl, ms: Date.now() - killedAt };
  }, 20000, 100);
  const warn = server.logs.slice(from).find((l) => l.streamPath === path && l.msg === 'encoder exited; restarting');
  t.diagnostic(`encoder ${pid} killed; new segment after a discontinuity ${resumed.ms} ms later (backoff ${warn?.delayMs} ms); playlist: ${resumed.pl.segments.length} segments, ${resumed.pl.discontinuities} discontinuities, ended ${resumed.pl.ended}`);
  assert.ok(warn, 'one warning names the stream and the encoder exit');
  assert.ok(resumed.ms <= RESUME_LIMIT_MS, `resumed after ${resumed.ms} ms`);
  assert.equal(resumed.pl.ended, false, 'playlist not ended');
  const hls = await probe(hlsUrl(key), 15000);
  assert.ok(hls.streams.some((s) => s.codec_type === 'video' && s.width === 320), 'ffprobe reads the playlist across the discontinuity');
  const rtmp = await probe(`${server.rtmpBase}/stream-${key}`, 15000);
  assert.ok(rtmp.streams.some((s) => s.codec_type === 'video'), 'RTMP output back');
});

test('a plugin that throws on every frame: frames pass unprocessed, pluginErrors rises, stream kept', { timeout: 90000 }, async (t) => {
  const k = uniqueKey('plugin');
  start(`${k}?bg=image&image=corrupt`);
  const first = await waitFor('plugin errors on a live stream', async () => {
    const e = await streamEntry(server.httpBase, k);
    return e?.state === 'live' && Number(e.stats.pluginErrors) > 0 && e;
  }, 60000, 250);
  const later = await waitFor('more frames and more errors', async () => {
    const e = await streamEntry(server.httpBase, k);
    return e && Number(e.stats.framesOut) >= Number(first.stats.framesOut) + 50 && Number(e.stats.pluginErrors) > Number(first.stats.pluginErrors) && e;
  }, 30000, 250);
  const warnings = server.logs.filter((l) => l.streamPath === `/live/${k}` && l.msg === 'plugin failed on a frame; it passed unprocessed');
  t.diagnostic(`corrupt image: framesOut ${later.stats.framesOut}, pluginErrors ${later.stats.pluginErrors}, dropped ${later.stats.droppedFrames}, warning lines ${warnings.length}; first: ${JSON.stringify(warnings[0]?.errors)}`);
  assert.match(JSON.stringify(warnings[0]?.errors), /corrupt\.jpg/, 'the warning names the plugin and the file');
  const out = await probe(`${server.rtmpBase}/stream-${k}`, 15000);
  assert.ok(out.streams.some((s) => s.codec_type === 'video' && s.width === 320), 'output plays');
  // A live change back to a colour background stops the errors.
  const res = await fetch(`${server.httpBase}/api/streams/${k}/background`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'color', color: '00ff00' }),
  });
  assert.equal(res.status, 200);
  const settled = await waitFor('errors to stop after the change', async () => {
    const a = await streamEntry(server.httpBase, k);
    await new Promise((r) => setTimeout(r, 1000));
    const b = await streamEntry(server.httpBase, k);
    return a && b && Number(b.stats.framesOut) > Number(a.stats.framesOut) && b.stats.pluginErrors === a.stats.pluginErrors && b;
  }, 20000, 0);
  t.diagnostic(`after switching to colour: pluginErrors stays ${settled.stats.pluginErrors}`);
});
