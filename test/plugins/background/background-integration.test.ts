/**
 * The background plugin end to end through the test host with the real segmentation models, on real
 * footage frames decoded by ffmpeg: a person in an office (sister.mkv) and a parking lot with no person
 * (car-detection.mp4). Skips with a message when the footage or the built models are absent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import plugin, { type BackgroundOptions } from '../../../plugins/background/index.ts';
import type { BackgroundState } from '../../../plugins/background/background-worker.ts';
import { createPluginTestHost, loadRgbImage, rgbToYuvFrame, yuvFrameToRgb, type RgbImage } from '../../../plugins/plugin-test-host.ts';
import { modelPath } from '../../../models/registry.ts';
import { ffmpeg, hasFfmpeg } from './ffmpeg-run.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const mediaDir = path.resolve(repoRoot, '..', 'shared', 'media');
const sisterPath = path.join(mediaDir, 'sister.mkv');
const carPath = path.join(mediaDir, 'car-detection.mp4');
const missing = [
  !hasFfmpeg && 'ffmpeg is not on PATH',
  !existsSync(sisterPath) && `footage ${sisterPath} is absent`,
  !existsSync(carPath) && `footage ${carPath} is absent`,
  ...(['selfie', 'selfie-landscape'] as const).map((id) => !existsSync(modelPath(id)) && `model ${modelPath(id)} is not built (npm run build:models)`),
].filter((m): m is string => typeof m === 'string');
const skip = missing.length > 0 ? `skipped: ${missing.join('; ')}` : false;

/** grabFrame decodes the frame at `seconds` of `file` with ffmpeg into RGB24. */
async function grabFrame(file: string, seconds: number): Promise<RgbImage> {
  const png = await ffmpeg(['-ss', String(seconds), '-i', file, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', 'pipe:1']);
  return loadRgbImage(png);
}

type Box = { x0: number; y0: number; x1: number; y1: number };

/** Fraction of pixels in `box` whose RGB is within `tol` of `rgb`. */
function fractionNear(image: RgbImage, box: Box, rgb: readonly number[], tol: number): number {
  let near = 0, total = 0;
  for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) {
    const p = (y * image.width + x) * 3;
    total++;
    if (Math.abs(image.rgb[p] - rgb[0]) <= tol && Math.abs(image.rgb[p + 1] - rgb[1]) <= tol && Math.abs(image.rgb[p + 2] - rgb[2]) <= tol) near++;
  }
  return near / total;
}

/** Fraction of pixels in `box` identical in `a` and `b`. */
function fractionSame(a: RgbImage, b: RgbImage, box: Box): number {
  let same = 0, total = 0;
  for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) {
    const p = (y * a.width + x) * 3;
    total++;
    if (a.rgb[p] === b.rgb[p] && a.rgb[p + 1] === b.rgb[p + 1] && a.rgb[p + 2] === b.rgb[p + 2]) same++;
  }
  return same / total;
}

const GREY = [192, 192, 192];
// sister.mkv is 640x480: the man stands in the middle (torso around x 250..390, y 250..480).
const SISTER_BACKGROUND: Box[] = [
  { x0: 0, y0: 0, x1: 120, y1: 60 },     // top left: wall and ceiling
  { x0: 540, y0: 20, x1: 640, y1: 300 }, // right: window blind
  { x0: 0, y0: 150, x1: 60, y1: 400 },   // left: monitor
];
const SISTER_PERSON: Box = { x0: 290, y0: 300, x1: 350, y1: 360 };
const WHOLE = (img: RgbImage): Box => ({ x0: 0, y0: 0, x1: img.width, y1: img.height });

describe('background plugin on real footage', { skip }, () => {
  let sister: RgbImage;
  let car: RgbImage;
  let dir = '';
  before(async () => {
    sister = await grabFrame(sisterPath, 1.5);
    car = await grabFrame(carPath, 5);
    dir = await mkdtemp(path.join(tmpdir(), 'background-integration-'));
  });
  after(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

  for (const model of ['selfie', 'selfie-landscape'] as const) {
    test(`colour (${model}): office background becomes c0c0c0, the person's centre keeps its pixels`, async () => {
      const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { model });
      try {
        const original = yuvFrameToRgb(rgbToYuvFrame(sister));
        const { output } = await host.processRgb(sister);
        for (const box of SISTER_BACKGROUND) {
          assert.ok(fractionNear(original, box, GREY, 6) < 0.5, `box ${JSON.stringify(box)} is grey before processing: the check would prove nothing`);
          const f = fractionNear(output, box, GREY, 6);
          assert.ok(f >= 0.97, `${model}: background ${JSON.stringify(box)} only ${(f * 100).toFixed(1)} % grey`);
        }
        const same = fractionSame(output, original, SISTER_PERSON);
        assert.ok(same >= 0.99, `${model}: person centre only ${(same * 100).toFixed(1)} % unchanged`);
        const grey = fractionNear(output, WHOLE(output), GREY, 6);
        assert.ok(grey > 0.3 && grey < 0.85, `${model}: ${(grey * 100).toFixed(1)} % of the frame grey`);
      } finally {
        await host.close();
      }
    });

    test(`colour (${model}): car park without a person becomes almost entirely the colour`, async () => {
      const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { model });
      try {
        const { output } = await host.processRgb(car);
        const f = fractionNear(output, WHOLE(output), GREY, 6);
        assert.ok(f >= 0.97, `${model}: only ${(f * 100).toFixed(2)} % grey`);
      } finally {
        await host.close();
      }
    });
  }

  test('consecutive frames carry the smoothed mask; results stay stable', async () => {
    const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, {});
    try {
      const grey: number[] = [];
      for (const t of [1.0, 1.033, 1.066, 1.1]) {
        const { output } = await host.processRgb(await grabFrame(sisterPath, t));
        grey.push(fractionNear(output, WHOLE(output), GREY, 6));
        assert.ok(host.state?.previousMask.length === 256 * 256);
      }
      const spread = Math.max(...grey) - Math.min(...grey);
      assert.ok(spread < 0.05, `grey fraction varies by ${spread} between adjacent frames`);
    } finally {
      await host.close();
    }
  });

  test('blur: background changes but is not grey, the person centre keeps its pixels', async () => {
    const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { mode: 'blur', blurRadiusPx: 16 });
    try {
      const original = yuvFrameToRgb(rgbToYuvFrame(sister));
      const { output } = await host.processRgb(sister);
      assert.ok(fractionSame(output, original, SISTER_PERSON) >= 0.99);
      assert.ok(fractionSame(output, original, SISTER_BACKGROUND[2]) < 0.5, 'background blurred');
      assert.ok(fractionNear(output, SISTER_BACKGROUND[1], GREY, 6) < 0.5, 'background is not a flat colour');
    } finally {
      await host.close();
    }
  });

  test('image: background shows the image, the person centre keeps its pixels', async () => {
    const imagePath = path.join(dir, 'beach.png');
    await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 40, g: 90, b: 200 } } }).png().toFile(imagePath);
    const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { mode: 'image', imagePath });
    try {
      const original = yuvFrameToRgb(rgbToYuvFrame(sister));
      const { output } = await host.processRgb(sister);
      assert.ok(fractionSame(output, original, SISTER_PERSON) >= 0.99);
      for (const box of SISTER_BACKGROUND) {
        const f = fractionNear(output, box, [40, 90, 200], 6);
        assert.ok(f >= 0.97, `image background ${JSON.stringify(box)} only ${(f * 100).toFixed(1)} %`);
      }
    } finally {
      await host.close();
    }
  });
});
