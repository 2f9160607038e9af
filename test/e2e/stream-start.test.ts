/**
 * The first seconds of a processed stream: every frame the publisher sent from its first keyframe
 * on reaches the output (no frozen first GOP). HLS keeps the stream's first segment, so, unlike an
 * RTMP player that joins at the latest keyframe, it shows the very start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/server-process.ts';
import { publish } from '../helpers/ffmpeg-tools.ts';
import { uniqueKey, serverForTests, fetchPlaylist, grabFramesRgb } from '../helpers/e2e-media.ts';

const run = promisify(execFile);
const FPS = 25;
// A 2 s GOP, as OBS and most apps send by default; the first segment (2 s) spans one publisher GOP.
const GOP = 2 * FPS;

const fixture = serverForTests();

test('the first HLS segment shows motion in every frame (no frozen first GOP)', { timeout: 90000 }, async (t) => {
  const s = fixture.server;
  const key = uniqueKey('start');
  // testsrc2 changes every frame (moving gradient and counter); ?bg=none keeps the frames as sent.
  const pub = fixture.track(publish(`${s.rtmpBase}/${key}?bg=none`, ['-f', 'lavfi', '-i', `testsrc2=s=320x240:r=${FPS}`],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(GOP), '-pix_fmt', 'yuv420p']));
  const hls = `${s.httpBase}/live/stream-${key}/index.m3u8`;
  // Wait for the second segment, so the first one is complete.
  const playlist = await waitFor('two HLS segments', async () => {
    assert.equal(pub.child.exitCode, null, `publisher exited: ${pub.stderr()}`);
    const pl = await fetchPlaylist(hls);
    return pl && pl.segments.length >= 2 && pl;
  }, 60000, 500);
  assert.equal(playlist.mediaSequence, 0, 'the first segment is still listed');
  const count = Math.round(playlist.segments[0].durationS * FPS) - 1;
  const frames = await grabFramesRgb(`${s.httpBase}/live/stream-${key}/${playlist.segments[0].uri}`, 160, 120, { count });
  const hashes = frames.map((f) => createHash('sha1').update(f).digest('hex'));
  let repeats = 0;
  let longestFreeze = 0;
  let run = 0;
  for (let i = 1; i < hashes.length; i++) {
    if (hashes[i] === hashes[i - 1]) { repeats += 1; run += 1; } else run = 0;
    longestFreeze = Math.max(longestFreeze, run);
  }
  t.diagnostic(`first segment: ${frames.length} frames, ${repeats} repeated, longest freeze ${longestFreeze} frames`);
  // A repeat or two can be the decoder's constant-frame-rate padding at the very start; a frozen
  // GOP is dozens.
  assert.ok(longestFreeze <= 2, `the output froze for ${longestFreeze} frames (${(longestFreeze / FPS).toFixed(2)} s) in its first segment`);
});

test('the encoder starts with the decoder, before the first frame; the output has a keyframe every 2 s', { timeout: 90000 }, async (t) => {
  const s = fixture.server;
  const key = uniqueKey('keys');
  const streamPath = `/live/${key}`;
  // A 3 s publisher GOP: the output's 2 s keyframe interval (encoder.keyframeIntervalMs) is its own.
  fixture.track(publish(`${s.rtmpBase}/${key}?bg=none`, ['-f', 'lavfi', '-i', `testsrc2=s=320x240:r=${FPS}`],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(3 * FPS), '-pix_fmt', 'yuv420p']));
  const hls = `${s.httpBase}/live/stream-${key}/index.m3u8`;
  await waitFor('three HLS segments', async () => {
    const pl = await fetchPlaylist(hls);
    return pl && pl.segments.length >= 3;
  }, 60000, 500);
  const logOf = (msg: string) => s.logs.findIndex((l) => l.streamPath === streamPath && l.msg === msg);
  const encoderStarted = logOf('encoder started');
  const format = logOf('stream format');
  t.diagnostic(`log lines: encoder started #${encoderStarted}, stream format (first frame decoded) #${format}`);
  assert.ok(encoderStarted >= 0 && format >= 0, 'both log lines are there');
  assert.ok(encoderStarted < format, 'the encoder was started before the first frame was decoded');

  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=key_frame,pts_time',
    '-of', 'csv=p=0', '-read_intervals', '%+5.5', hls], { timeout: 30000 });
  const frames = stdout.trim().split('\n').map((l) => l.split(',')).map(([k, pts]) => ({ key: k === '1', pts: Number(pts) }));
  const keys = frames.filter((f) => f.key).map((f) => f.pts);
  t.diagnostic(`${frames.length} frames, keyframes at ${keys.map((k) => k.toFixed(2)).join(', ')} s`);
  assert.ok(keys.length >= 3, `at least 3 keyframes in ~5.5 s of output (got ${keys.length})`);
  for (let i = 1; i < keys.length; i++) {
    assert.ok(Math.abs(keys[i] - keys[i - 1] - 2) <= 1.5 / FPS, `keyframes ${keys[i - 1]} -> ${keys[i]} s are not 2 s apart`);
  }
});
