// MediaPipe short-range anchors and the detection decoder on synthetic tensors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FACE_SHORT_RANGE_ANCHORS } from '../../models/face/anchors.ts';
import { boxIou, decodeFaceDetections, nonMaxSuppression, type FaceDetection } from '../../models/face/decode.ts';

describe('face anchors', () => {
  test('896 anchors: 16x16 cells x 2 then 8x8 cells x 6, fixed size 1', () => {
    const a = FACE_SHORT_RANGE_ANCHORS;
    assert.equal(a.length, 896);
    assert.deepEqual(a[0], { xCenter: 0.5 / 16, yCenter: 0.5 / 16, width: 1, height: 1 });
    assert.deepEqual(a[1], a[0]);
    assert.deepEqual(a[2], { xCenter: 1.5 / 16, yCenter: 0.5 / 16, width: 1, height: 1 });
    assert.deepEqual(a[511], { xCenter: 15.5 / 16, yCenter: 15.5 / 16, width: 1, height: 1 });
    assert.deepEqual(a[512], { xCenter: 0.5 / 8, yCenter: 0.5 / 8, width: 1, height: 1 });
    assert.deepEqual(a[517], a[512]);
    assert.deepEqual(a[518], { xCenter: 1.5 / 8, yCenter: 0.5 / 8, width: 1, height: 1 });
    assert.deepEqual(a[895], { xCenter: 7.5 / 8, yCenter: 7.5 / 8, width: 1, height: 1 });
  });
});

describe('decodeFaceDetections', () => {
  function tensors(entries: Array<{ anchor: number; logit: number; dx: number; dy: number; w: number; h: number }>) {
    const regressors = new Float32Array(896 * 16);
    const scores = new Float32Array(896).fill(-10);
    for (const e of entries) {
      scores[e.anchor] = e.logit;
      regressors.set([e.dx, e.dy, e.w, e.h], e.anchor * 16);
      for (let k = 0; k < 6; k++) regressors.set([e.dx + k, e.dy - k], e.anchor * 16 + 4 + 2 * k);
    }
    return { regressors, scores };
  }

  test('decodes box and keypoints relative to the anchor in 128-px units, sigmoid score', () => {
    const { regressors, scores } = tensors([{ anchor: 600, logit: 2, dx: 12.8, dy: -6.4, w: 32, h: 25.6 }]);
    const [d, ...rest] = decodeFaceDetections(regressors, scores);
    assert.equal(rest.length, 0);
    const anchor = FACE_SHORT_RANGE_ANCHORS[600]!;
    assert.ok(Math.abs(d!.score - 1 / (1 + Math.exp(-2))) < 1e-6);
    assert.ok(Math.abs(d!.xMin + d!.width / 2 - (anchor.xCenter + 0.1)) < 1e-6);
    assert.ok(Math.abs(d!.yMin + d!.height / 2 - (anchor.yCenter - 0.05)) < 1e-6);
    assert.ok(Math.abs(d!.width - 0.25) < 1e-6 && Math.abs(d!.height - 0.2) < 1e-6);
    assert.ok(Math.abs(d!.keypoints[5]!.x - (anchor.xCenter + (12.8 + 5) / 128)) < 1e-6);
    assert.equal(d!.keypoints.length, 6);
  });

  test('drops scores below the threshold and merges overlapping boxes', () => {
    const { regressors, scores } = tensors([
      { anchor: 600, logit: 3, dx: 0, dy: 0, w: 32, h: 32 },
      { anchor: 601, logit: 1, dx: 1.28, dy: 0, w: 32, h: 32 },
      { anchor: 100, logit: 2, dx: 0, dy: 0, w: 16, h: 16 },
      { anchor: 300, logit: -1, dx: 0, dy: 0, w: 16, h: 16 },
    ]);
    const weighted = decodeFaceDetections(regressors, scores);
    assert.equal(weighted.length, 2);
    assert.ok(weighted[0]!.score > weighted[1]!.score);
    const plain = decodeFaceDetections(regressors, scores, { nms: 'plain' });
    assert.equal(plain.length, 2);
    // Weighted NMS moves the kept box towards the suppressed one; plain NMS keeps it as is.
    assert.ok(weighted[0]!.xMin > plain[0]!.xMin);
    assert.equal(decodeFaceDetections(regressors, scores, { minScore: 0.99 }).length, 0);
  });

  test('IoU and NMS edge cases', () => {
    const box = (x: number, score: number): FaceDetection => ({ xMin: x, yMin: 0, width: 1, height: 1, score, keypoints: [] });
    assert.equal(boxIou(box(0, 1), box(0, 1)), 1);
    assert.equal(boxIou(box(0, 1), box(2, 1)), 0);
    assert.ok(Math.abs(boxIou(box(0, 1), box(0.5, 1)) - 1 / 3) < 1e-9);
    assert.deepEqual(nonMaxSuppression([], 0.3, 'weighted'), []);
    assert.throws(() => decodeFaceDetections(new Float32Array(10), new Float32Array(896)), /expected 896/);
  });
});
