/**
 * The processed output's timeline against the publisher's: `GET /api/streams` reports
 * `outputPtsOriginMs`, the publisher time the output's timestamp 0 stands for, so the output
 * frame with pts t ms must carry the publisher's frame at `outputPtsOriginMs + t`.
 *
 * The publisher numbers its frames in the picture: frame n is one flat luma level, 8 * n mod 256
 * (32 distinct levels, 8 apart, so one frame early or late reads 8 levels off), and its
 * timestamps start at 5 s (`-output_ts_offset`), so an origin of 0 would be wrong. `?bg=none`
 * passes the pixels through unchanged (decoder, scheduler and encoder still run). A read during
 * which the origin moved (an encoder starved of CPU skips frames) is repeated, up to three reads.
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
  const readState = async () => {
    const s = (await apiStreams(server.httpBase)).find((x) => x.key === key);
    return { origin: s?.outputPtsOriginMs, skipsAndRestarts: Number(s?.stats.droppedFrames ?? 0) + Number(s?.stats.restarts ?? 0) };
  };
  await waitFor('the stream live with an output origin', async () => (await readState()).origin !== undefined, 60000, 250);
  // The origin moves by design when a CPU-starved encoder skips frames or restarts (both counted
  // in the stream's stats): such a read cannot be mapped, so it is repeated; a move that the stats
  // do not explain fails.
  for (let attempt = 1; ; attempt += 1) {
    const before = await readState();
    // Decode 60 output frames, keeping the stream's own timestamps; showinfo prints each frame's
    // pts_time and the mean of every plane.
    const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-copyts', '-i', `${server.rtmpBase}/stream-${key}`,
      '-frames:v', '60', '-vf', 'showinfo', '-f', 'null', '-'], { timeout: 60000, maxBuffer: 16 << 20 });
    const after = await readState();
    // showinfo may see one frame more than the output takes.
    const frames = [...stderr.matchAll(/pts_time:\s*([\d.]+).*?mean:\[(\d+)/g)].slice(0, 60).map((m) => ({ ptsMs: Number(m[1]) * 1000, luma: Number(m[2]) }));
    t.diagnostic(`read ${attempt}: origin ${before.origin} ms (after reading ${after.origin} ms); ${frames.length} frames, first pts ${frames[0]?.ptsMs.toFixed(0)} ms`);
    assert.equal(frames.length, 60, `ffmpeg read ${frames.length} frames:\n${stderr.slice(-2000)}`);
    if (after.origin !== before.origin) {
      assert.ok(after.skipsAndRestarts > before.skipsAndRestarts,
        `the origin moved from ${before.origin} to ${after.origin} ms with no skip or restart counted`);
      assert.ok(attempt < 3, `the origin moved in ${attempt} reads in a row (the encoder kept skipping)`);
      continue;
    }
    const origin = before.origin!;
    // The publisher's first frame is at 5000 ms: the server started somewhere after that.
    assert.ok(origin >= OFFSET_MS && origin < OFFSET_MS + 30000, `origin ${origin} ms, expected the publisher's clock (from ${OFFSET_MS} ms)`);
    const wrong = frames.map((f) => {
      const n = Math.round(((origin + f.ptsMs - OFFSET_MS) * FPS) / 1000);
      return { ...f, n, expected: levelOf(n) };
    }).filter((f) => Math.abs(f.luma - f.expected) > 3);
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of 60 frames do not show the publisher frame their pts maps to`);
    return;
  }
});
