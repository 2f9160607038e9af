import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hexToYuv, parseHexColor, rgbToI420, rgbToYuv } from '../../../plugins/yuv-color.ts';
import { compositeColor } from '../../../plugins/background/composite-yuv.ts';
import { createAlphaPlanes, upsampleAlpha } from '../../../plugins/background/upsample-alpha.ts';
import { ffmpeg, hasFfmpeg } from './ffmpeg-run.ts';

let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'yuv-color-test-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

test('hexToYuv: BT.601 limited range table', () => {
  const cases: [string, [number, number, number]][] = [
    ['c0c0c0', [181, 128, 128]],
    ['000000', [16, 128, 128]],
    ['ffffff', [235, 128, 128]],
    ['ff0000', [81, 90, 240]],
    ['00ff00', [145, 54, 34]],
    ['0000ff', [41, 240, 110]],
    ['#C0C0C0', [181, 128, 128]],
  ];
  for (const [hex, [y, u, v]] of cases) assert.deepEqual(hexToYuv(hex), { y, u, v }, hex);
});

test('parseHexColor rejects malformed colours with the colour in the message', () => {
  for (const bad of ['c0c0c', 'zzzzzz', '', 'c0c0c0c0', '0xc0c0c0']) {
    assert.throws(() => parseHexColor(bad), (e: Error) => e instanceof RangeError && e.message.includes(`'${bad}'`), bad);
  }
  assert.deepEqual(parseHexColor('0a0B0c'), [10, 11, 12]);
});

test('rgbToI420 of flat colours matches rgbToYuv', () => {
  for (const [r, g, b] of [[192, 192, 192], [255, 0, 0], [0, 255, 0], [0, 0, 255], [12, 200, 99]]) {
    const rgb = new Uint8Array(6 * 4 * 3);
    for (let i = 0; i < rgb.length; i += 3) rgb.set([r, g, b], i);
    const planes = rgbToI420(rgb, 6, 4);
    const want = rgbToYuv(r, g, b);
    assert.ok(planes.y.every((v) => Math.abs(v - want.y) <= 1), `Y ${r},${g},${b}`);
    assert.ok(planes.u.every((v) => Math.abs(v - want.u) <= 1), `U ${r},${g},${b}`);
    assert.ok(planes.v.every((v) => Math.abs(v - want.v) <= 1), `V ${r},${g},${b}`);
  }
  assert.throws(() => rgbToI420(new Uint8Array(5 * 4 * 3), 5, 4), RangeError);
});

test('rgbToI420 agrees with ffmpeg rgb24 -> yuv420p (Y +-1, U/V +-2 on smooth content)', { skip: hasFfmpeg ? false : 'ffmpeg not on PATH' }, async () => {
  const w = 64, h = 32;
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([x * 4, y * 8, 255 - x * 2], (y * w + x) * 3);
  const out = await ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-i', 'pipe:0', '-pix_fmt', 'yuv420p', '-f', 'rawvideo', 'pipe:1'], rgb);
  const ours = rgbToI420(rgb, w, h);
  const theirs = { y: out.subarray(0, w * h), u: out.subarray(w * h, w * h * 5 / 4), v: out.subarray(w * h * 5 / 4) };
  let maxY = 0, maxC = 0;
  for (let i = 0; i < w * h; i++) maxY = Math.max(maxY, Math.abs(ours.y[i] - theirs.y[i]));
  // Skip the outermost chroma columns/rows, where swscale's filter meets the border.
  for (let cy = 1; cy < h / 2 - 1; cy++) for (let cx = 1; cx < w / 2 - 1; cx++) {
    const i = cy * (w / 2) + cx;
    maxC = Math.max(maxC, Math.abs(ours.u[i] - theirs.u[i]), Math.abs(ours.v[i] - theirs.v[i]));
  }
  assert.ok(maxY <= 1, `max Y difference ${maxY}`);
  assert.ok(maxC <= 2, `max U/V difference ${maxC}`);
});

test('a c0c0c0 composite decoded by ffmpeg to rgb24 shows 192,192,192 +-3', { skip: hasFfmpeg ? false : 'ffmpeg not on PATH' }, async () => {
  const w = 64, h = 48;
  const frame = { width: w, height: h, y: new Uint8Array(w * h).fill(60), u: new Uint8Array(w * h / 4).fill(200), v: new Uint8Array(w * h / 4).fill(40), index: 0, ptsMs: 0 };
  const alpha = createAlphaPlanes(w, h);
  upsampleAlpha(new Uint8Array(16 * 16), 16, 16, w, h, alpha); // no person anywhere
  compositeColor(frame, alpha, hexToYuv('c0c0c0'));
  const yuvPath = join(dir, 'composite.yuv');
  await writeFile(yuvPath, Buffer.concat([frame.y, frame.u, frame.v]));
  const rgb = await ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${w}x${h}`, '-i', yuvPath, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1']);
  assert.equal(rgb.length, w * h * 3);
  for (let i = 0; i < rgb.length; i++) assert.ok(Math.abs(rgb[i] - 192) <= 3, `byte ${i} = ${rgb[i]}`);
});
