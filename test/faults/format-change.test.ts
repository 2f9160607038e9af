/**
 * Issue #5, bad input that changes shape: a publisher switching from 640x480 to 1280x720 on one
 * key (a new AVC sequence header mid-stream, as OBS sends when its canvas changes) keeps its output
 * at the first size, scaled with the aspect ratio kept; an odd-sized publisher (853x479) is cropped
 * to even (852x478). A healthy reference stream runs alongside (see bad-input.test.ts for why its
 * thresholds hold under load).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/server-process.ts';
import { publish, probe, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { fetchPlaylist, uniqueKey } from '../helpers/e2e-media.ts';
import { HEALTHY_FPS, makeH264Flv, startHealthyBench, streamEntry, type HealthyBench } from '../helpers/fault-tools.ts';
import { FLV_SCRIPT, FlvDemuxer, flvHeader, flvTagBytes, type FlvTag } from '../../server/pipeline/flv-demux.ts';

let bench: HealthyBench;
let work: string;
const publishers = new Set<Publisher>();

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'faults-format-'));
  bench = await startHealthyBench();
});

after(async () => {
  await Promise.all([...publishers].map((p) => p.stop()));
  await bench?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function flvTags(path: string): FlvTag[] {
  const tags: FlvTag[] = [];
  new FlvDemuxer((t) => tags.push({ ...t, data: Buffer.from(t.data) })).push(readFileSync(path));
  return tags;
}

/**
 * joinFlv writes one FLV holding `a`'s tags then `b`'s (its metadata dropped, timestamps shifted to
 * follow on), so `b`'s AVC sequence header arrives mid-stream.
 */
function joinFlv(a: string, b: string, out: string): void {
  const first = flvTags(a);
  const second = flvTags(b).filter((t) => t.type !== FLV_SCRIPT);
  const shift = Math.max(...first.map((t) => t.dts)) + 40;
  writeFileSync(out, Buffer.concat([flvHeader(false, true), ...first.map((t) => flvTagBytes(t.type, t.dts, t.data)),
    ...second.map((t) => flvTagBytes(t.type, t.dts + shift, t.data))]));
}

async function checkHealthy(t: { diagnostic(m: string): void }, since: number, what: string): Promise<void> {
  assert.equal(bench.server.child.exitCode, null, 'server still running');
  const w = await bench.untilObserved(since);
  t.diagnostic(`reference stream during ${what}: ${w.seconds.toFixed(1)} s, out ${w.framesOut} (${w.fpsOut.toFixed(1)} fps), dropped ${w.dropped}`);
  assert.equal(w.dropped, 0, `reference stream dropped frames during ${what}`);
  assert.ok(w.fpsOut >= HEALTHY_FPS * 0.7, `reference stream fell to ${w.fpsOut.toFixed(1)} fps during ${what}`);
}

test('resolution change 640x480 -> 1280x720 mid-stream: output stays 640x480 and keeps playing', { timeout: 180000 }, async (t) => {
  const small = join(work, 'small.flv');
  const large = join(work, 'large.flv');
  const joined = join(work, 'joined.flv');
  await makeH264Flv(small, '640x480', 6);
  await makeH264Flv(large, '1280x720', 10);
  joinFlv(small, large, joined);
  const key = uniqueKey('resize');
  const path = `/live/${key}`;
  const since = Date.now();
  const p = publish(`${bench.server.rtmpBase}/${key}?bg=none`, ['-i', joined], ['-c:v', 'copy']);
  publishers.add(p);
  await waitFor('the stream to be live at 640x480', async () => {
    const e = await streamEntry(bench.server.httpBase, key);
    return e?.state === 'live' && e.width === 640 && e.height === 480;
  }, 40000, 250);
  const change = await bench.server.waitForLog((l) => l.streamPath === path && l.msg === 'restarting the decoder', 30000);
  t.diagnostic(`server noticed the change: '${change.msg}' (${change.reason})`);
  const atChange = Number((await streamEntry(bench.server.httpBase, key))?.stats.framesOut ?? 0);
  // Five seconds of frames after the change, still 640x480.
  const e = await waitFor('frames after the change', async () => {
    const failed = bench.server.logs.find((l) => l.streamPath === path && l.msg === 'stream failed');
    if (failed) throw new Error(`stream failed: ${failed.code}: ${failed.err}`);
    const s = await streamEntry(bench.server.httpBase, key);
    return s && Number(s.stats.framesOut) >= atChange + 125 && s;
  }, 40000, 250);
  t.diagnostic(`after the change: ${Number(e.stats.framesOut) - atChange} frames out, ${e.width}x${e.height}, restarts ${e.stats.restarts}, dropped ${e.stats.droppedFrames}`);
  assert.deepEqual([e.width, e.height], [640, 480], 'the API still reports the first size');
  const out = await probe(`${bench.server.rtmpBase}/stream-${key}`, 15000);
  const video = out.streams.find((s) => s.codec_type === 'video');
  assert.deepEqual([video?.width, video?.height], [640, 480], 'the RTMP output is still 640x480');
  const pl = await fetchPlaylist(`${bench.server.httpBase}/live/stream-${key}/index.m3u8`);
  assert.ok(pl && pl.segments.length > 0, 'HLS playlist has segments');
  const seg = await probe(`${bench.server.httpBase}/live/stream-${key}/${pl.segments.at(-1)!.uri}`, 15000);
  const segVideo = seg.streams.find((s) => s.codec_type === 'video');
  assert.deepEqual([segVideo?.width, segVideo?.height], [640, 480], 'the newest HLS segment is 640x480');
  await checkHealthy(t, since, 'a resolution change');
  await p.stop();
  publishers.delete(p);
});

test('odd size 853x479: output plays, cropped to 852x478', { timeout: 120000 }, async (t) => {
  const key = uniqueKey('odd');
  const since = Date.now();
  // 4:2:0 needs even sizes, so the publisher sends 4:4:4 H.264 (High 4:4:4), which FLV carries.
  const p = publish(`${bench.server.rtmpBase}/${key}?bg=none`, ['-f', 'lavfi', '-i', 'testsrc2=s=853x479:r=25'],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv444p']);
  publishers.add(p);
  const e = await waitFor('the odd-sized stream to be live with 2 s of output', async () => {
    if (p.child.exitCode !== null) throw new Error(`publisher exited: ${p.stderr()}`);
    const s = await streamEntry(bench.server.httpBase, key);
    return s?.state === 'live' && Number(s.stats.framesOut) >= 50 && s;
  }, 60000, 250);
  t.diagnostic(`odd-sized stream: ${e.width}x${e.height}, ${e.stats.framesOut} frames out`);
  assert.deepEqual([e.width, e.height], [852, 478]);
  const out = await probe(`${bench.server.rtmpBase}/stream-${key}`, 15000);
  const video = out.streams.find((s) => s.codec_type === 'video');
  assert.deepEqual([video?.codec_name, video?.width, video?.height], ['h264', 852, 478], 'the RTMP output plays at 852x478');
  await checkHealthy(t, since, 'an odd-sized stream');
  await p.stop();
  publishers.delete(p);
});
