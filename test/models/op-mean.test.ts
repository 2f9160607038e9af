// MEAN mapping vs a TypeScript reference, with and without keep_dims.
import { describe, test } from 'node:test';
import { referenceMean } from './reference/pool-reference.ts';
import { randomTensor, seededRandom } from './helpers/seeded-random.ts';
import { assertClose, BODY_LAYOUTS, runConverted, testModel } from './helpers/tflite-test-model.ts';

const CASES = [
  { name: 'axes [1, 2] keep_dims (landscape squeeze-excite)', x: [1, 5, 7, 3], axes: [1, 2], keep: true },
  { name: 'axes [2, 1] keep_dims, unordered', x: [1, 3, 4, 2], axes: [2, 1], keep: true },
  { name: 'axis [-1] keep_dims', x: [1, 3, 5, 4], axes: [-1], keep: true },
  { name: 'axes [1, 2] without keep_dims -> [N, C]', x: [1, 4, 3, 5], axes: [1, 2], keep: false },
  { name: 'rank 3 axis [1]', x: [1, 6, 4], axes: [1], keep: true },
] as const;

describe('MEAN mapping', () => {
  CASES.forEach((c, i) => {
    for (const layout of BODY_LAYOUTS) {
      test(`${c.name} [${layout} body]`, async () => {
        const x = randomTensor([...c.x], seededRandom(500 + i));
        const axes = c.axes.map((a) => (a < 0 ? a + c.x.length : a));
        const expected = referenceMean(x, [...c.x], axes, c.keep);
        const model = testModel(
          [{ shape: [...c.x] }, { shape: [c.axes.length], type: 'INT32', data: Int32Array.from(c.axes) }, { shape: expected.shape }],
          [{ opName: 'MEAN', inputs: [0, 1], outputs: [2], options: { keepDims: c.keep } }],
          [2],
        );
        assertClose(await runConverted(model, [x], layout), expected);
      });
    }
  });
});
