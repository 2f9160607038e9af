/**
 * Issue #3, stream lifecycle: the original stays playable while processed, outputs are never
 * processed again, a publisher leaving ends the playlist and reaps ffmpeg, a returning publisher
 * continues on the same output names, and nobody else may publish an output name.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, publish, probe, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { uniqueKey, startServerOnFreePorts, apiStreams, fetchPlaylist, ffmpegChildren } from '../helpers/e2e-media.ts';

let server: ServerProcess | undefined;
const publishers = new Set<Publisher>();
const key = uniqueKey('life');

// Small synthetic input (runs everywhere): 320x240 test pattern with a tone.
const INPUT = ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-re', '-f', 'lavfi', '-i', 'sine=f=440:sample_rate=44100'];
const ENCODE = ['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25',
  '-pix_fmt', 'yuv420p', '-c:a', 'aac'];

function start(path: string): Publisher {
  const p = publish(`${server!.rtmpBase}/${path}`, INPUT, ENCODE);
  publishers.add(p);
  return p;
}

async function stop(p: Publisher): Promise<void> {
  await p.stop();
  publishers.delete(p);
}

const hlsUrl = () => `${server!.httpBase}/live/stream-${key}/index.m3u8`;
const outputUrl = () => `${server!.rtmpBase}/stream-${key}`;

async function waitForOutput(pub: Publisher, what: string): Promise<void> {
  await waitFor(what, async () => {
    assert.equal(pub.child.exitCode, null, `publisher exited: ${pub.stderr()}`);
    const info = await probe(outputUrl(), 8000);
    return info.streams.some((x) => x.codec_type === 'video' && x.width === 320) && info.streams.some((x) => x.codec_type === 'audio');
  }, 60000, 500);
}

before(async () => {
  server = await startServerOnFreePorts();
});

after(async () => {
  await Promise.all([...publishers].map((p) => p.stop()));
  await server?.stop();
});

let publisher: Publisher | undefined;
/** The last segment of the first publish, as the ended playlist lists it. */
let lastSegmentBeforeReconnect = '';

test('while processed, live/<key> stays playable and the output is not processed again', { timeout: 90000 }, async (t) => {
  const s = server!;
  const started = Date.now();
  publisher = start(key);
  await waitForOutput(publisher, 'the processed output');
  t.diagnostic(`time to first output: ${Date.now() - started} ms`);

  const original = await probe(`${s.rtmpBase}/${key}`, 10000);
  const video = original.streams.find((x) => x.codec_type === 'video');
  assert.deepEqual([video?.codec_name, video?.width, video?.height], ['h264', 320, 240], 'live/<key> plays as published');

  // The output is published into the same RTMP app; give the server a chance to mistake it for a
  // new publisher: wait until HLS exists (well after the output's publish), then look.
  await waitFor('the HLS playlist', async () => (await fetchPlaylist(hlsUrl()))?.segments.length, 30000, 500);
  const streams = await apiStreams(s.httpBase);
  assert.deepEqual(streams.map((x) => x.key), [key], 'exactly one stream, the publisher\'s');
  const folders = readdirSync(join(s.mediaRoot, 'live'));
  assert.deepEqual(folders, [`stream-${key}`], `media root holds only the output's folder (got ${folders.join(', ')})`);
  assert.ok(ffmpegChildren(s.child.pid!).length >= 2, 'decoder and encoder run as children of the server');
});

test('publisher leaves: playlist ends, stream list empties, ffmpeg children exit', { timeout: 60000 }, async (t) => {
  const s = server!;
  assert.ok(publisher, 'needs the previous test\'s publisher');
  const before = ffmpegChildren(s.child.pid!);
  assert.ok(before.length >= 2, `expected decoder and encoder children, found ${before.length}`);
  const stoppedAt = Date.now();
  await stop(publisher);
  const ended = await waitFor('#EXT-X-ENDLIST in the playlist', async () => {
    const pl = await fetchPlaylist(hlsUrl());
    return pl?.ended && pl;
  }, 20000, 200);
  t.diagnostic(`playlist ended ${Date.now() - stoppedAt} ms after the publisher stopped (${ended.segments.length} segments)`);
  lastSegmentBeforeReconnect = ended.segments.at(-1)!.uri;
  await waitFor('/api/streams to be empty', async () => (await apiStreams(s.httpBase)).length === 0, 20000);
  await waitFor('the server\'s ffmpeg children to exit', () => ffmpegChildren(s.child.pid!).length === 0, 20000);
  t.diagnostic(`stream list empty and children reaped ${Date.now() - stoppedAt} ms after the publisher stopped`);
});

test('publisher reconnects: processing resumes on the same output names, with a discontinuity', { timeout: 90000 }, async (t) => {
  const s = server!;
  const started = Date.now();
  publisher = start(key);
  await waitForOutput(publisher, 'the processed output after reconnecting');
  t.diagnostic(`time to output after reconnect: ${Date.now() - started} ms`);
  assert.ok(lastSegmentBeforeReconnect, 'needs the previous test\'s ended playlist');
  // A fresh playlist already starts with discontinuity tags (discont_start), so only one between
  // the first publish's last segment and a new segment shows the reconnect.
  const pl = await waitFor('a live playlist with a discontinuity after the old segments and a new segment', async () => {
    const p = await fetchPlaylist(hlsUrl());
    if (!p || p.ended) return false;
    const lines = p.text.split('\n').map((l) => l.trim());
    const last = lines.indexOf(lastSegmentBeforeReconnect);
    if (last < 0) return false;
    const after = lines.slice(last + 1);
    const disc = after.indexOf('#EXT-X-DISCONTINUITY');
    return disc >= 0 && after.slice(disc + 1).some((l) => l.endsWith('.ts')) && p;
  }, 30000, 500);
  const hls = await probe(hlsUrl(), 10000);
  assert.ok(hls.streams.some((x) => x.codec_type === 'video' && x.codec_name === 'h264'), 'HLS readable again');
  t.diagnostic(`playlist after reconnect: seq ${pl.mediaSequence}, ${pl.segments.length} segments, ${pl.discontinuities} discontinuities`);
  assert.deepEqual((await apiStreams(s.httpBase)).map((x) => x.key), [key]);
});

test('an outside client may not publish live/stream-<x>', { timeout: 60000 }, async () => {
  const s = server!;
  const name = `stream-${uniqueKey('intruder')}`;
  const intruder = start(name);
  await waitFor('the intruder\'s connection to be closed', () => hasExited(intruder), 20000);
  assert.notEqual(intruder.child.exitCode, 0, 'ffmpeg should fail when its publish is refused');
  await s.waitForLog((l) => String(l.msg).startsWith('publish refused') && String(l.streamPath).endsWith(name), 5000);
  const keys = (await apiStreams(s.httpBase)).map((x) => x.key);
  assert.ok(!keys.some((k) => k.startsWith('stream-')), `no output name in the stream list (got ${keys.join(', ')})`);
  await assert.rejects(probe(`${s.rtmpBase}/${name}`, 4000), 'nothing plays on the refused name');
  publishers.delete(intruder);
});
