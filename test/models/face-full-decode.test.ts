// Full-range anchors (MediaPipe face_detection_full_range: 192x192, one stride-4 layer) and the
// decoder with FACE_MODELS.full's settings on constructed tensors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FACE_FULL_RANGE_ANCHORS } from '../../models/face/anchors.ts';
import { decodeFaceDetections } from '../../models/face/decode.ts';
import { FACE_MODELS } from '../../models/face/face-models.ts';

describe('full-range anchors', () => {
  test('2304 anchors: 48x48 cells x 1, row-major, fixed size 1', () => {
    const a = FACE_FULL_RANGE_ANCHORS;
    assert.equal(a.length, 2304);
    assert.deepEqual(a[0], { xCenter: 0.5 / 48, yCenter: 0.5 / 48, width: 1, height: 1 });
    assert.deepEqual(a[1], { xCenter: 1.5 / 48, yCenter: 0.5 / 48, width: 1, height: 1 });
    assert.deepEqual(a[48], { xCenter: 0.5 / 48, yCenter: 1.5 / 48, width: 1, height: 1 });
    assert.deepEqual(a[2303], { xCenter: 47.5 / 48, yCenter: 47.5 / 48, width: 1, height: 1 });
  });

  test('FACE_MODELS pairs each model with its anchors, input side and MediaPipe thresholds', () => {
    assert.equal(FACE_MODELS.full.anchors, FACE_FULL_RANGE_ANCHORS);
    assert.deepEqual([FACE_MODELS.full.modelId, FACE_MODELS.full.inputSize, FACE_MODELS.full.decode], ['face-full', 192, { minScore: 0.6, iouThreshold: 0.3, nms: 'weighted', inputScale: 192 }]);
    assert.deepEqual([FACE_MODELS.short.modelId, FACE_MODELS.short.inputSize, FACE_MODELS.short.anchors.length, FACE_MODELS.short.decode.minScore], ['face-short', 128, 896, 0.5]);
  });
});

describe('decodeFaceDetections with full-range settings', () => {
  const spec = FACE_MODELS.full;
  function tensors(entries: Array<{ anchor: number; logit: number; dx: number; dy: number; w: number; h: number }>) {
    const regressors = new Float32Array(2304 * 16);
    const scores = new Float32Array(2304).fill(-10);
    for (const e of entries) {
      scores[e.anchor] = e.logit;
      regressors.set([e.dx, e.dy, e.w, e.h], e.anchor * 16);
      for (let k = 0; k < 6; k++) regressors.set([e.dx + 2 * k, e.dy - k], e.anchor * 16 + 4 + 2 * k);
    }
    return { regressors, scores };
  }

  test('decodes box and keypoints relative to the anchor in 192-px units', () => {
    const anchor = 20 * 48 + 30; // row 20, column 30: centre (30.5 / 48, 20.5 / 48)
    const { regressors, scores } = tensors([{ anchor, logit: 1.5, dx: 19.2, dy: -9.6, w: 38.4, h: 48 }]);
    const [d, ...rest] = decodeFaceDetections(regressors, scores, spec.decode, spec.anchors);
    assert.equal(rest.length, 0);
    assert.ok(Math.abs(d!.score - 1 / (1 + Math.exp(-1.5))) < 1e-6);
    assert.ok(Math.abs(d!.xMin + d!.width / 2 - (30.5 / 48 + 0.1)) < 1e-6);
    assert.ok(Math.abs(d!.yMin + d!.height / 2 - (20.5 / 48 - 0.05)) < 1e-6);
    assert.ok(Math.abs(d!.width - 0.2) < 1e-6 && Math.abs(d!.height - 0.25) < 1e-6);
    assert.ok(Math.abs(d!.keypoints[3]!.x - (30.5 / 48 + (19.2 + 6) / 192)) < 1e-6);
    assert.ok(Math.abs(d!.keypoints[3]!.y - (20.5 / 48 + (-9.6 - 3) / 192)) < 1e-6);
  });

  test('the full-range threshold 0.6 drops a 0.55 score that short-range settings (0.5) would keep', () => {
    const logit = Math.log(0.55 / 0.45);
    const { regressors, scores } = tensors([{ anchor: 1000, logit, dx: 0, dy: 0, w: 20, h: 20 }]);
    assert.equal(decodeFaceDetections(regressors, scores, spec.decode, spec.anchors).length, 0);
    assert.equal(decodeFaceDetections(regressors, scores, { ...spec.decode, minScore: 0.5 }, spec.anchors).length, 1);
  });

  test('neighbouring anchors on one face merge into one weighted detection; the short-range anchors are rejected', () => {
    const { regressors, scores } = tensors([
      { anchor: 1000, logit: 3, dx: 0, dy: 0, w: 24, h: 24 },
      { anchor: 1001, logit: 2, dx: -4, dy: 0, w: 24, h: 24 },
      { anchor: 1048, logit: 2, dx: 0, dy: -4, w: 24, h: 24 },
      { anchor: 100, logit: 2, dx: 0, dy: 0, w: 24, h: 24 },
    ]);
    assert.equal(decodeFaceDetections(regressors, scores, spec.decode, spec.anchors).length, 2);
    assert.throws(() => decodeFaceDetections(regressors, scores, spec.decode), /expected 896/);
  });
});
