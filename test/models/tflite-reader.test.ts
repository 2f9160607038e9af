// The flatbuffer reader parses the three MediaPipe models: op inventory, I/O tensors, options, float16 weights.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { sourceModelPath } from '../../models/registry.ts';
import type { ConvOptions } from '../../models/tflite/builtin-options.ts';
import { float16ToFloat32 } from '../../models/tflite/tensor-data.ts';
import { readTfliteModel } from '../../models/tflite/tflite-reader.ts';

const read = (id: 'selfie' | 'selfie-landscape' | 'face-short') => readTfliteModel(readFileSync(sourceModelPath(id)), id);
const inventory = (m: ReturnType<typeof read>) => {
  const counts: Record<string, number> = {};
  for (const op of m.operators) counts[op.opName] = (counts[op.opName] ?? 0) + 1;
  return counts;
};

describe('TFLite reader', () => {
  test('selfie_segmentation.tflite: ops, input_1 [1,256,256,3] -> activation_10 [1,256,256,1]', () => {
    const m = read('selfie');
    assert.deepEqual(inventory(m), {
      DEQUANTIZE: 110, CONV_2D: 43, HARD_SWISH: 11, RELU: 22, DEPTHWISE_CONV_2D: 11, AVERAGE_POOL_2D: 10,
      LOGISTIC: 11, MUL: 10, ADD: 14, RESIZE_BILINEAR: 3, Convolution2DTransposeBias: 1,
    });
    assert.deepEqual(m.inputs.map((i) => [m.tensors[i]!.name, m.tensors[i]!.shape]), [['input_1', [1, 256, 256, 3]]]);
    assert.deepEqual(m.outputs.map((i) => [m.tensors[i]!.name, m.tensors[i]!.shape]), [['activation_10', [1, 256, 256, 1]]]);
    const firstConv = m.operators.find((o) => o.opName === 'CONV_2D')!;
    assert.deepEqual(firstConv.options as ConvOptions, { padding: 'SAME', strideW: 2, strideH: 2, activation: 'NONE', dilationW: 1, dilationH: 1, depthMultiplier: 1 });
    const resize = m.operators.find((o) => o.opName === 'RESIZE_BILINEAR')!;
    assert.deepEqual(resize.options, { alignCorners: false, halfPixelCenters: true });
    const head = m.operators.find((o) => o.opName === 'Convolution2DTransposeBias')!;
    assert.deepEqual([...new Int32Array(head.customOptions!.slice().buffer)], [1, 2, 2]);
  });

  test('selfie_segmentation_landscape.tflite uses MEAN instead of AVERAGE_POOL_2D', () => {
    const m = read('selfie-landscape');
    const counts = inventory(m);
    assert.equal(counts.MEAN, 10);
    assert.equal(counts.AVERAGE_POOL_2D, undefined);
    assert.deepEqual(m.tensors[m.inputs[0]!]!.shape, [1, 144, 256, 3]);
    assert.deepEqual(m.operators.find((o) => o.opName === 'MEAN')!.options, { keepDims: true });
  });

  test('face_detection_short_range.tflite: PAD, MAX_POOL_2D, RESHAPE, CONCATENATION; regressors and classificators', () => {
    const m = read('face-short');
    const counts = inventory(m);
    for (const op of ['PAD', 'MAX_POOL_2D', 'RESHAPE', 'CONCATENATION']) assert.ok(counts[op]! > 0, op);
    assert.deepEqual(m.outputs.map((i) => [m.tensors[i]!.name, m.tensors[i]!.shape]), [['regressors', [1, 896, 16]], ['classificators', [1, 896, 1]]]);
    assert.deepEqual(m.operators.find((o) => o.opName === 'RESHAPE')!.options, { newShape: [1, -1, 1] });
  });

  test('weights are float16 constants and decode to finite floats', () => {
    const m = read('selfie');
    const dq = m.operators.filter((o) => o.opName === 'DEQUANTIZE');
    for (const op of dq) {
      const t = m.tensors[op.inputs[0]!]!;
      assert.equal(t.type, 'FLOAT16');
      assert.equal(t.data!.byteLength, 2 * t.shape.reduce((a, b) => a * b, 1));
      assert.ok(float16ToFloat32(t.data!).every(Number.isFinite));
    }
  });

  test('rejects a file that is not a TFLite flatbuffer', () => {
    assert.throws(() => readTfliteModel(new Uint8Array(64), 'zeros.tflite'), /zeros\.tflite: not a TFLite flatbuffer/);
  });
});
