import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { clearImageCache, decodeImageBackground, IMAGE_CACHE_ENTRIES, imageCacheKeys, loadImageBackground } from '../../../plugins/background/image-background.ts';
import { rgbToYuv } from '../../../plugins/yuv-color.ts';

let dir = '';
let wide = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-background-test-'));
  // 200x50: left quarter red, middle half green, right quarter blue.
  wide = join(dir, 'wide.png');
  await sharp({ create: { width: 200, height: 50, channels: 3, background: { r: 0, g: 255, b: 0 } } })
    .composite([
      { input: { create: { width: 50, height: 50, channels: 3, background: { r: 255, g: 0, b: 0 } } }, left: 0, top: 0 },
      { input: { create: { width: 50, height: 50, channels: 3, background: { r: 0, g: 0, b: 255 } } }, left: 150, top: 0 },
    ])
    .png()
    .toFile(wide);
});
after(async () => { await rm(dir, { recursive: true, force: true }); });
beforeEach(() => clearImageCache());

test('decodeImageBackground covers the frame (centre crop) and converts with BT.601 limited range', async () => {
  // 200x50 onto 64x48 (4:3): scaled to 192x48, 64 px centre crop = only the green middle.
  const planes = await decodeImageBackground(wide, 64, 48);
  assert.equal(planes.y.length, 64 * 48);
  assert.equal(planes.u.length, 32 * 24);
  const green = rgbToYuv(0, 255, 0);
  assert.ok(planes.y.every((v) => Math.abs(v - green.y) <= 2), 'Y all green');
  assert.ok(planes.u.every((v) => Math.abs(v - green.u) <= 2) && planes.v.every((v) => Math.abs(v - green.v) <= 2), 'UV all green');
  // Onto a wider frame (8:1) the whole width is kept: red at the left, blue at the right.
  const strip = await decodeImageBackground(wide, 160, 20);
  const red = rgbToYuv(255, 0, 0), blue = rgbToYuv(0, 0, 255);
  assert.ok(Math.abs(strip.y[10 * 160 + 5] - red.y) <= 2 && Math.abs(strip.y[10 * 160 + 155] - blue.y) <= 2);
});

test('a missing or unreadable image rejects with an Error naming the file', async () => {
  const missing = join(dir, 'nope.png');
  await assert.rejects(loadImageBackground(missing, 64, 48), (e: Error) => e.message.includes(missing));
  const garbage = join(dir, 'garbage.jpg');
  await writeFile(garbage, 'not an image');
  await assert.rejects(loadImageBackground(garbage, 64, 48), (e: Error) => e.message.includes(garbage));
  await assert.rejects(loadImageBackground('', 64, 48), /imagePath/);
  assert.deepEqual(imageCacheKeys(), [], 'failures take no LRU entry');
  const again = await loadImageBackground(garbage, 64, 48).catch((e: Error) => e);
  assert.ok(again instanceof Error && again.message.includes(garbage), 'a recent failure is answered from memory with the same error');
});

test('loadImageBackground caches by (path, size), shares a pending decode, keeps at most 4 (LRU)', async () => {
  const first = loadImageBackground(wide, 64, 48);
  assert.equal(loadImageBackground(wide, 64, 48), first, 'same promise while pending and after');
  await first;
  const sizes: [number, number][] = [[32, 24], [16, 12], [8, 6], [4, 2]];
  for (const [w, h] of sizes) await loadImageBackground(wide, w, h);
  const keys = imageCacheKeys();
  assert.equal(keys.length, IMAGE_CACHE_ENTRIES);
  assert.ok(!keys.includes(`64x48:${wide}`), 'oldest entry evicted');
  // Touching an entry makes it most recent.
  await loadImageBackground(wide, 32, 24);
  assert.equal(imageCacheKeys().at(-1), `32x24:${wide}`);
});
