/**
 * The processed output's timeline against the publisher's: `GET /api/streams` reports
 * `outputPtsOriginMs`, the publisher time the output's timestamp 0 stands for, so the output
 * frame with pts t ms must carry the publisher's frame at `outputPtsOriginMs + t`.
 *
 * The publisher numbers its frames in the picture: frame n is one flat luma level, 8 * n mod 256
 * (32 distinct levels, 8 apart, so one frame early or late reads 8 levels off), and its
 * timestamps start at 5 s (`-output_ts_offset`), so an origin of 0 would be wrong. `?bg=none`
 * passes the pixels through unchanged (decoder, scheduler and encoder still run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/server-process.ts';
import { publish } from '../helpers/ffmpeg-tools.ts';
import { apiStreams, serverForTests, uniqueKey } from '../helpers/e2e-media.ts';

const run = promisify(execFile);
const FPS = 30;
const OFFSET_MS = 5000;
const levelOf = (frame: number) => (frame * 8) % 256;

const fixture = serverForTests();

test('outputPtsOriginMs: the output frame with pts t carries the publisher frame at origin + t', { timeout: 120000 }, async (t) => {
  const { server } = fixture;
  const key = uniqueKey('timeline');
  fixture.track(publish(`${server.rtmpBase}/${key}?bg=none`,
    ['-f', 'lavfi', '-i', `color=c=black:s=320x240:r=${FPS},format=yuv420p,geq=lum='mod(N*8,256)':cb=128:cr=128`],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(FPS), '-output_ts_offset', String(OFFSET_MS / 1000)]));
  const originOf = async () => (await apiStreams(server.httpBase)).find((s) => s.key === key)?.outputPtsOriginMs;
  const { origin: before } = await waitFor('the stream live with an output origin', async () => {
    const origin = await originOf();
    return origin !== undefined && { origin };
  }, 60000, 250);
  // Decode 60 output frames, keeping the stream's own timestamps; showinfo prints each frame's
  // pts_time and the mean of every plane.
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-copyts', '-i', `${server.rtmpBase}/stream-${key}`,
    '-frames:v', '60', '-vf', 'showinfo', '-f', 'null', '-'], { timeout: 60000, maxBuffer: 16 << 20 });
  const after = await originOf();
  // showinfo may see one frame more than the output takes.
  const frames = [...stderr.matchAll(/pts_time:\s*([\d.]+).*?mean:\[(\d+)/g)].slice(0, 60).map((m) => ({ ptsMs: Number(m[1]) * 1000, luma: Number(m[2]) }));
  t.diagnostic(`origin ${before} ms (after reading ${after} ms); ${frames.length} frames, first pts ${frames[0]?.ptsMs.toFixed(0)} ms`);
  assert.equal(frames.length, 60, `ffmpeg read ${frames.length} frames:\n${stderr.slice(-2000)}`);
  assert.equal(after, before, 'the origin moved while reading (the encoder skipped or restarted)');
  // The publisher's first frame is at 5000 ms: the server started somewhere after that.
  assert.ok(before >= OFFSET_MS && before < OFFSET_MS + 30000, `origin ${before} ms, expected the publisher's clock (from ${OFFSET_MS} ms)`);
  const wrong = frames.map((f) => {
    const n = Math.round(((before + f.ptsMs - OFFSET_MS) * FPS) / 1000);
    return { ...f, n, expected: levelOf(n) };
  }).filter((f) => Math.abs(f.luma - f.expected) > 3);
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of 60 frames do not show the publisher frame their pts maps to`);
});
