// Bilinear stretch to the model input, mask upsampling, grey conversion and background replacement.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHexColour, replaceBackground } from '../../models/segmentation/composite-background.ts';
import { bilinearTaps, stretchToTensor } from '../../models/segmentation/preprocess.ts';
import { confidenceToGray8, upsampleMask } from '../../models/segmentation/upsample-mask.ts';

describe('segmentation image helpers', () => {
  test('bilinearTaps: half-pixel centres with edge clamp', () => {
    const up = bilinearTaps(2, 4);
    assert.deepEqual([...up.lo], [0, 0, 0, 1]);
    assert.deepEqual([...up.hi], [1, 1, 1, 1]);
    assert.deepEqual([...up.frac], [0, 0.25, 0.75, 0]);
    const down = bilinearTaps(4, 2);
    assert.deepEqual([...down.lo], [0, 2]);
    assert.deepEqual([...down.frac], [0.5, 0.5]);
  });

  test('stretchToTensor maps 0..255 to the range and interpolates', () => {
    // 2x1 image: black, white -> 4x1 tensor in [0, 1] and [-1, 1].
    const image = { data: Uint8Array.of(0, 0, 0, 255, 255, 255), width: 2, height: 1, channels: 3 as const };
    const t01 = stretchToTensor(image, { width: 4, height: 1, range: [0, 1] });
    assert.deepEqual([...t01.filter((_, i) => i % 3 === 0)], [0, 0.25, 0.75, 1]);
    const tpm = stretchToTensor(image, { width: 2, height: 1, range: [-1, 1] });
    assert.deepEqual([...tpm], [-1, -1, -1, 1, 1, 1]);
    assert.throws(() => stretchToTensor({ ...image, width: 0 }, { width: 4, height: 1, range: [0, 1] }), /bad image/);
  });

  test('upsampleMask keeps values (no min-max normalisation) and confidenceToGray8 rounds', () => {
    const mask = Float32Array.of(0.2, 0.4, 0.4, 0.2);
    const up = upsampleMask(mask, 2, 2, 4, 4);
    assert.equal(up.length, 16);
    assert.ok(Math.abs(up[0]! - 0.2) < 1e-6 && Math.abs(up[3]! - 0.4) < 1e-6);
    assert.ok(Math.max(...up) <= 0.4 + 1e-6 && Math.min(...up) >= 0.2 - 1e-6);
    assert.deepEqual([...confidenceToGray8(Float32Array.of(0, 0.5, 1, 1.5, -1))], [0, 128, 255, 255, 0]);
  });

  test('replaceBackground alpha-blends by confidence', () => {
    const image = { data: Uint8Array.of(200, 100, 0, 200, 100, 0), width: 2, height: 1, channels: 3 as const };
    const out = replaceBackground(image, Float32Array.of(1, 0.25), parseHexColour('#0000ff'));
    assert.deepEqual([...out], [200, 100, 0, 50, 25, 191]);
    assert.throws(() => parseHexColour('blue'), /not a hex colour/);
  });
});
