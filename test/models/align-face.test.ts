// align-face.ts: the eye-based similarity transform and the chip it samples, checked on a synthetic face
// pattern drawn rotated, scaled and shifted into an image: the chip must give the pattern back upright.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alignDetectedFace, alignFace, chipToTensor, DLIB_CHIP_150, eyeAlignTransform, type ChipTransform, type Point2 } from '../../models/face/align-face.ts';
import type { FaceDetection } from '../../models/face/decode.ts';
import type { RgbImage } from '../../models/segmentation/rgb-image.ts';

const T = DLIB_CHIP_150;
// The pattern, in chip px: a dark Gaussian blob on each template eye and one below the middle, where a
// mouth would be, so that a mirrored or upside-down chip moves it.
const MOUTH: Point2 = { x: 75, y: 112 };
const BLOBS = [T.rightEye, T.leftEye, MOUTH];
const BLOB_SIGMA_PX = 3;
const BACKGROUND = 220;
const INK = 180;

function pattern(u: number, v: number): number {
  let dark = 0;
  for (const b of BLOBS) dark += Math.exp(-((u - b.x) ** 2 + (v - b.y) ** 2) / (2 * BLOB_SIGMA_PX ** 2));
  return BACKGROUND - INK * Math.min(1, dark);
}

/** A pose of the chip in the image: rotation (degrees, clockwise on screen, as image y points down), image px per chip px, and where the chip centre lands (image index px). */
interface Pose {
  angleDeg: number;
  scale: number;
  centre: Point2;
}

function poseTransform({ angleDeg, scale, centre }: Pose): ChipTransform {
  const a = scale * Math.cos((angleDeg * Math.PI) / 180);
  const b = scale * Math.sin((angleDeg * Math.PI) / 180);
  const c = T.size / 2;
  return { a, b, tx: centre.x - (a * c - b * c), ty: centre.y - (b * c + a * c), scale };
}

const apply = (m: ChipTransform, p: Point2): Point2 => ({ x: m.a * p.x - m.b * p.y + m.tx, y: m.b * p.x + m.a * p.y + m.ty });

// Draws the pattern into a width x height RGB image through `m` (chip -> image index px), by inverting m per pixel.
function renderImage(m: ChipTransform, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const det = m.a * m.a + m.b * m.b;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x - m.tx;
      const dy = y - m.ty;
      const value = Math.round(pattern((m.a * dx + m.b * dy) / det, (-m.b * dx + m.a * dy) / det));
      data.fill(value, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return { data, width, height, channels: 3 };
}

// Eye keypoints as BlazeFace gives them: continuous px, half a pixel right of and below index coordinates.
const keypointOf = (m: ChipTransform, p: Point2): Point2 => {
  const q = apply(m, p);
  return { x: q.x + 0.5, y: q.y + 0.5 };
};

// Darkness-weighted centroid (chip px) of the blob near `at`, over a 19x19 window of the chip's red channel.
function blobCentroid(chip: RgbImage, at: Point2): Point2 {
  let [sw, sx, sy] = [0, 0, 0];
  for (let v = Math.round(at.y) - 9; v <= Math.round(at.y) + 9; v++) {
    for (let u = Math.round(at.x) - 9; u <= Math.round(at.x) + 9; u++) {
      const w = Math.max(0, BACKGROUND - chip.data[(v * chip.width + u) * 3]!);
      [sw, sx, sy] = [sw + w, sx + w * u, sy + w * v];
    }
  }
  return { x: sx / sw, y: sy / sw };
}

// The chip may differ from the pattern drawn directly at chip resolution by bilinear rounding only.
const MAX_MEAN_DIFF = 0.5;

const POSES: (Pose & { name: string })[] = [
  // Below 1 image px per chip px (a small face) the chip upsamples; above 1 it averages n x n samples.
  { name: 'upright, same scale', angleDeg: 0, scale: 1, centre: { x: 160, y: 120 } },
  { name: 'rolled 30 degrees, small face (0.5 image px per chip px)', angleDeg: 30, scale: 0.5, centre: { x: 101.3, y: 77.8 } },
  { name: 'rolled -47 degrees, large face (2.6 image px per chip px, supersampled)', angleDeg: -47, scale: 2.6, centre: { x: 290.4, y: 280.2 } },
  { name: 'upside down (170 degrees)', angleDeg: 170, scale: 1.3, centre: { x: 150, y: 150 } },
];

describe('eyeAlignTransform', () => {
  for (const pose of POSES) {
    test(`${pose.name}: maps the template eyes onto the image eyes, with the pose's rotation and scale`, () => {
      const m = poseTransform(pose);
      const [right, left] = [keypointOf(m, T.rightEye), keypointOf(m, T.leftEye)];
      const got = eyeAlignTransform(right, left, T);
      for (const [eye, keypoint] of [[T.rightEye, right], [T.leftEye, left]] as const) {
        const p = apply(got, eye);
        assert.ok(Math.hypot(p.x + 0.5 - keypoint.x, p.y + 0.5 - keypoint.y) < 1e-9, `template eye (${eye.x}, ${eye.y}) -> (${p.x}, ${p.y})`);
      }
      // The template's eyes are level, so the chip's rotation is the pose's.
      assert.ok(Math.abs((Math.atan2(got.b, got.a) * 180) / Math.PI - pose.angleDeg) < 1e-9, `angle ${Math.atan2(got.b, got.a)}`);
      assert.ok(Math.abs(got.scale - pose.scale) < 1e-12, `scale ${got.scale}`);
    });
  }

  test('throws a RangeError when the eyes coincide', () => {
    assert.throws(() => eyeAlignTransform({ x: 10, y: 10 }, { x: 10, y: 10 }, T), RangeError);
  });
});

describe('alignFace on a synthetic rotated pattern', () => {
  for (const pose of POSES) {
    test(`${pose.name}: the chip shows the pattern upright, eyes and mouth within 0.25 px of their places`, (t) => {
      const m = poseTransform(pose);
      // Large enough that the whole chip lies inside the image, the centre at least half the chip's diagonal from every edge.
      const image = renderImage(m, Math.ceil(2 * pose.centre.x), Math.ceil(2 * pose.centre.y));
      const chip = alignFace(image, keypointOf(m, T.rightEye), keypointOf(m, T.leftEye));
      assert.deepEqual([chip.width, chip.height, chip.channels], [150, 150, 3]);
      let diff = 0;
      for (let v = 0; v < 150; v++) for (let u = 0; u < 150; u++) diff += Math.abs(chip.data[(v * 150 + u) * 3]! - pattern(u, v));
      const meanDiff = diff / (150 * 150);
      const offsets = BLOBS.map((b) => {
        const c = blobCentroid(chip, b);
        return Math.hypot(c.x - b.x, c.y - b.y);
      });
      t.diagnostic(`mean |chip - pattern| ${meanDiff.toFixed(3)} levels; blob centroid offsets ${offsets.map((o) => o.toFixed(3)).join(', ')} px`);
      assert.ok(meanDiff <= MAX_MEAN_DIFF, `mean difference ${meanDiff}`);
      for (const [i, o] of offsets.entries()) assert.ok(o < 0.25, `blob ${i} is ${o} px from its place`);
    });
  }

  test('chip pixels that fall outside the image are black', () => {
    const m = poseTransform({ angleDeg: 10, scale: 1, centre: { x: 20, y: 20 } });
    const chip = alignFace(renderImage(m, 200, 200), keypointOf(m, T.rightEye), keypointOf(m, T.leftEye));
    // The chip's top-left corner maps to about (-41, -67) in the image, its bottom-right corner to about (80, 106).
    assert.deepEqual([...chip.data.subarray(0, 3)], [0, 0, 0]);
    assert.ok(chip.data[(149 * 150 + 149) * 3]! > 200, 'the bottom-right corner is inside the image (background)');
  });
});

describe('alignDetectedFace', () => {
  const m = poseTransform({ angleDeg: -12, scale: 0.8, centre: { x: 120, y: 100 } });
  const image = renderImage(m, 240, 200);
  const face = (keypoints: Point2[], width = 100): FaceDetection => ({ xMin: 70, yMin: 50, width, height: width, score: 0.9, keypoints });

  test('aligns from keypoints 0 (right eye) and 1 (left eye) and reports the eye distance over the box width', () => {
    const [right, left] = [keypointOf(m, T.rightEye), keypointOf(m, T.leftEye)];
    const aligned = alignDetectedFace(image, face([right, left, { x: 120, y: 110 }, { x: 120, y: 130 }]));
    assert.deepEqual(aligned.chip.data, alignFace(image, right, left).data);
    const eyeDistance = Math.hypot(T.leftEye.x - T.rightEye.x, T.leftEye.y - T.rightEye.y) * 0.8;
    assert.ok(Math.abs(aligned.eyeDistancePx - eyeDistance) < 1e-9);
    assert.ok(Math.abs(aligned.eyeDistanceToBoxWidth - eyeDistance / 100) < 1e-12);
  });

  test('throws a RangeError without two keypoints, or with a box of no width', () => {
    assert.throws(() => alignDetectedFace(image, face([{ x: 1, y: 1 }])), RangeError);
    assert.throws(() => alignDetectedFace(image, face([keypointOf(m, T.rightEye), keypointOf(m, T.leftEye)], 0)), RangeError);
  });
});

describe('chipToTensor', () => {
  test('keeps the raw 0..255 values in NHWC order and rejects RGBA', () => {
    const chip: RgbImage = { data: Uint8Array.of(0, 128, 255, 7, 8, 9), width: 2, height: 1, channels: 3 };
    assert.deepEqual([...chipToTensor(chip)], [0, 128, 255, 7, 8, 9]);
    assert.throws(() => chipToTensor({ ...chip, channels: 4 }));
  });
});
