// Convolution2DTransposeBias mapping vs a TFLite-semantics reference, including odd total padding.
import { describe, test } from 'node:test';
import { referenceTransposeConv } from './reference/conv-reference.ts';
import { randomTensor, seededRandom } from './helpers/seeded-random.ts';
import { assertClose, BODY_LAYOUTS, runConverted, testModel } from './helpers/tflite-test-model.ts';

function params(padding: 'SAME' | 'VALID', strideW: number, strideH: number): Uint8Array {
  return new Uint8Array(Int32Array.of(padding === 'SAME' ? 1 : 2, strideW, strideH).buffer);
}

const CASES = [
  { name: '2x2 s2 SAME (selfie head, no crop)', x: [1, 5, 4, 3], k: [2, 2], outC: 1, s: [2, 2], padding: 'SAME' },
  { name: '3x3 s2 SAME (odd crop of 1)', x: [1, 4, 5, 2], k: [3, 3], outC: 2, s: [2, 2], padding: 'SAME' },
  { name: '4x4 s2 SAME (crop 1 each side)', x: [1, 3, 3, 2], k: [4, 4], outC: 3, s: [2, 2], padding: 'SAME' },
  { name: '3x2 s(1,2) SAME', x: [1, 5, 3, 2], k: [3, 2], outC: 2, s: [1, 2], padding: 'SAME' },
  { name: '3x3 s2 VALID', x: [1, 3, 4, 2], k: [3, 3], outC: 2, s: [2, 2], padding: 'VALID' },
] as const;

describe('Convolution2DTransposeBias mapping', () => {
  CASES.forEach((c, i) => {
    for (const layout of BODY_LAYOUTS) {
      test(`${c.name} [${layout} body]`, async () => {
        const rand = seededRandom(300 + i);
        const x = randomTensor([...c.x], rand);
        const wShape = [c.outC, c.k[0], c.k[1], c.x[3]];
        const w = randomTensor(wShape, rand);
        const b = randomTensor([c.outC], rand);
        const outH = c.padding === 'SAME' ? c.x[1] * c.s[0] : (c.x[1] - 1) * c.s[0] + c.k[0];
        const outW = c.padding === 'SAME' ? c.x[2] * c.s[1] : (c.x[2] - 1) * c.s[1] + c.k[1];
        const expected = referenceTransposeConv({ data: x, shape: [...c.x] }, { data: w, shape: wShape }, b, c.s[0], c.s[1], outH, outW, c.padding);
        const model = testModel(
          [{ shape: [...c.x] }, { shape: wShape, data: w }, { shape: [c.outC], data: b }, { shape: expected.shape }],
          [{ opName: 'Convolution2DTransposeBias', inputs: [0, 1, 2], outputs: [3], customOptions: params(c.padding, c.s[1], c.s[0]) }],
          [3],
        );
        assertClose(await runConverted(model, [x], layout), expected);
      });
    }
  });
});
