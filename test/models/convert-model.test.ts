// Converter-level behaviour: unsupported ops name op, index and file; pads follow TensorFlow's SAME rule.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConversionError } from '../../models/convert/conversion-error.ts';
import { convertTfliteToOnnx } from '../../models/convert/convert-model.ts';
import { explicitPads } from '../../models/convert/same-padding.ts';
import { testModel } from './helpers/tflite-test-model.ts';

describe('convertTfliteToOnnx', () => {
  test('an unsupported op fails with ERR_TFLITE_UNSUPPORTED_OP naming the op, operator index and model file', () => {
    const model = testModel(
      [{ shape: [1, 4] }, { shape: [1, 4] }, { shape: [1, 4] }],
      [
        { opName: 'RELU', inputs: [0], outputs: [1] },
        { opName: 'SOFTMAX', inputs: [1], outputs: [2] },
      ],
      [2],
      'custom-net.tflite',
    );
    assert.throws(
      () => convertTfliteToOnnx(model),
      (err: unknown) =>
        err instanceof ConversionError &&
        err.code === 'ERR_TFLITE_UNSUPPORTED_OP' &&
        err.operatorIndex === 1 &&
        err.opName === 'SOFTMAX' &&
        /custom-net\.tflite: operator #1 \(SOFTMAX\)/.test(err.message),
    );
  });

  test('an unknown custom op is reported by its custom code', () => {
    const model = testModel([{ shape: [2] }, { shape: [2] }], [{ opName: 'MaxPoolingWithArgmax2D', inputs: [0], outputs: [1] }], [1], 'hand.tflite');
    assert.throws(() => convertTfliteToOnnx(model), /hand\.tflite: operator #0 \(MaxPoolingWithArgmax2D\)/);
  });

  test('output is deterministic and uses the requested I/O names', () => {
    const model = testModel([{ shape: [1, 2, 2, 1] }, { shape: [1, 2, 2, 1] }], [{ opName: 'LOGISTIC', inputs: [0], outputs: [1] }], [1]);
    const a = convertTfliteToOnnx(model, { inputNames: ['input'], outputNames: ['mask'] });
    const b = convertTfliteToOnnx(model, { inputNames: ['input'], outputNames: ['mask'] });
    assert.deepEqual(a, b);
    const text = Buffer.from(a).toString('latin1');
    assert.ok(text.includes('input') && text.includes('mask'));
  });
});

describe('explicitPads (TensorFlow SAME/VALID)', () => {
  const rows: Array<[padding: 'SAME' | 'VALID', inSize: number, k: number, s: number, d: number, expected: [number, number]]> = [
    ['SAME', 256, 3, 2, 1, [0, 1]],
    ['SAME', 7, 3, 1, 1, [1, 1]],
    ['SAME', 9, 3, 2, 1, [1, 1]],
    ['SAME', 8, 2, 2, 1, [0, 0]],
    ['SAME', 64, 5, 1, 1, [2, 2]],
    ['SAME', 10, 5, 2, 1, [1, 2]],
    ['SAME', 9, 3, 1, 2, [2, 2]],
    ['VALID', 9, 3, 2, 1, [0, 0]],
  ];
  for (const [padding, inSize, k, s, d, expected] of rows) {
    test(`${padding} in ${inSize} k ${k} s ${s} d ${d} -> [${expected}]`, () => {
      assert.deepEqual(explicitPads(padding, inSize, k, s, d), expected);
    });
  }
});
