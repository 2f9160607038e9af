/**
 * Issue #19, item 1: a second publisher of a key that is already live is refused for real. Its
 * connection is closed at once, none of its packets reaches the live stream (no decoder restart, no
 * frame of its picture in the output), and the refusal is counted as `key_in_use`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServerOnFreePorts, uniqueKey, parsePlaylist, fractionNear } from '../helpers/e2e-media.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { streamEntry } from '../helpers/fault-tools.ts';
import { scrapeMetrics } from '../ops/ops-helpers.ts';

const run = promisify(execFile);
const ENCODE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p'];
/** Frames are checked at this small size: enough to tell a solid red picture from testsrc2. */
const [W, H] = [64, 48];

let server: ServerProcess;
const publishers: Publisher[] = [];
const key = uniqueKey('hijack');

function start(input: string): Publisher {
  const p = publish(`${server.rtmpBase}/${key}?bg=none`, ['-f', 'lavfi', '-i', input], ENCODE);
  publishers.push(p);
  return p;
}

/** stats of the live stream's API entry (throws when it is not listed). */
async function stats(): Promise<Record<string, number>> {
  const e = await streamEntry(server.httpBase, key);
  assert.ok(e, `stream '${key}' is not listed`);
  return e.stats as Record<string, number>;
}

/** hlsFramesRgb decodes every segment the stream's playlist lists (oldest first) to RGB24 frames of W x H. */
async function hlsFramesRgb(): Promise<Buffer[]> {
  const dir = join(server.mediaRoot, 'live', `stream-${key}`);
  const playlist = parsePlaylist(readFileSync(join(dir, 'index.m3u8'), 'utf8'));
  const input = `concat:${playlist.segments.map((s) => join(dir, s.uri)).join('|')}`;
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', input, '-vf', `scale=${W}:${H}`,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  const frames: Buffer[] = [];
  for (let o = 0; o + W * H * 3 <= stdout.length; o += W * H * 3) frames.push(stdout.subarray(o, o + W * H * 3));
  return frames;
}

before(async () => {
  // 1 s segments and a 30-segment window: the playlist still lists the whole attempt afterwards.
  server = await startServerOnFreePorts([], {
    LIVEMATTE_HLS_SEGMENT_DURATION_MS: '1000', LIVEMATTE_ENCODER_KEYFRAME_INTERVAL_MS: '1000', LIVEMATTE_HLS_PLAYLIST_LENGTH: '30',
  });
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
});

test('a second publisher of a live key is refused and nothing of it reaches the live stream', { timeout: 120000 }, async (t) => {
  const owner = start('testsrc2=s=320x240:r=25');
  await waitFor('the first publisher to be live', async () => {
    assert.ok(!hasExited(owner), `publisher exited: ${owner.stderr()}`);
    const e = await streamEntry(server.httpBase, key);
    return e?.state === 'live' && Number(e.stats.framesOut) > 50;
  }, 60000, 250);
  const from = server.logs.length;
  const framesInAtStart = (await stats()).framesIn;
  const intruder = start('color=c=red:s=320x240:r=25');
  // Until the intruder is gone, or for 5 s of the live stream's frames if it is never disconnected.
  await waitFor('the intruder to be disconnected, or 5 s of the live stream to pass', async () =>
    hasExited(intruder) || (await stats()).framesIn > framesInAtStart + 125, 40000, 100);
  const intruderExited = hasExited(intruder);
  // Let the encoder put the attempt's time into segments (3 s more output).
  const out = (await stats()).framesOut;
  await waitFor('3 s more output', async () => (await stats()).framesOut > out + 75, 30000, 250);

  const s = await stats();
  t.diagnostic(`intruder exited: ${intruderExited}; restarts ${s.restarts}; framesIn ${s.framesIn}`);
  assert.equal(s.restarts, 0, 'the live stream\'s decoder never restarted (the intruder\'s codec headers did not reach it)');
  const frames = await hlsFramesRgb();
  const red = frames.filter((f) => fractionNear(f, [255, 0, 0], 60) > 0.5).length;
  t.diagnostic(`${frames.length} output frames checked, ${red} red`);
  assert.ok(frames.length >= 100, `the playlist covers the attempt (${frames.length} frames)`);
  assert.equal(red, 0, 'no frame of the intruder\'s picture in the live stream\'s output');

  assert.ok(intruderExited, `the intruder's ffmpeg was disconnected: ${intruder.stderr().slice(-300)}`);
  const line = server.logs.slice(from).find((l) => String(l.msg).startsWith('publish refused'));
  assert.ok(line, 'the refusal is logged');
  assert.equal(line.reason, 'key_in_use');
  assert.equal(line.streamPath, `/live/${key}`);
  const samples = await scrapeMetrics(server.httpBase);
  const refused = samples.find((m) => m.name === 'livematte_publishes_refused_total' && m.labels.reason === 'key_in_use');
  assert.equal(refused?.value, 1, 'counted in livematte_publishes_refused_total{reason="key_in_use"}');
  assert.ok(!hasExited(owner), 'the first publisher is still publishing');
});
