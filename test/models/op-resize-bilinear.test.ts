// RESIZE_BILINEAR mapping vs TensorFlow's scaling rules (align_corners, half_pixel_centers, legacy).
import { describe, test } from 'node:test';
import { referenceResizeBilinear } from './reference/resize-reference.ts';
import { randomTensor, seededRandom } from './helpers/seeded-random.ts';
import { assertClose, BODY_LAYOUTS, runConverted, testModel } from './helpers/tflite-test-model.ts';

const CASES = [
  { name: 'x2 half_pixel_centers (selfie decoder)', x: [1, 4, 5, 3], out: [8, 10], align: false, half: true },
  { name: 'odd 5x7 -> 11x3 half_pixel_centers', x: [1, 5, 7, 2], out: [11, 3], align: false, half: true },
  { name: 'odd 5x7 -> 11x3 align_corners', x: [1, 5, 7, 2], out: [11, 3], align: true, half: false },
  { name: 'odd 5x7 -> 11x3 legacy asymmetric', x: [1, 5, 7, 2], out: [11, 3], align: false, half: false },
  { name: '3x3 -> 9x6 align_corners', x: [1, 3, 3, 4], out: [9, 6], align: true, half: false },
] as const;

describe('RESIZE_BILINEAR mapping', () => {
  CASES.forEach((c, i) => {
    for (const layout of BODY_LAYOUTS) {
      test(`${c.name} [${layout} body]`, async () => {
        const x = randomTensor([...c.x], seededRandom(800 + i));
        const expected = referenceResizeBilinear({ data: x, shape: [...c.x] }, c.out[0], c.out[1], c.align, c.half);
        const model = testModel(
          [{ shape: [...c.x] }, { shape: [2], type: 'INT32', data: Int32Array.from(c.out) }, { shape: expected.shape }],
          [{ opName: 'RESIZE_BILINEAR', inputs: [0, 1], outputs: [2], options: { alignCorners: c.align, halfPixelCenters: c.half } }],
          [2],
        );
        assertClose(await runConverted(model, [x], layout), expected);
      });
    }
  });
});
