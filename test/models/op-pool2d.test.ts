// AVERAGE_POOL_2D and MAX_POOL_2D mappings vs a TypeScript reference (SAME cells excluded from averages).
import { describe, test } from 'node:test';
import type { PoolOptions } from '../../models/tflite/builtin-options.ts';
import { referencePool2d } from './reference/pool-reference.ts';
import { randomTensor, seededRandom } from './helpers/seeded-random.ts';
import { assertClose, BODY_LAYOUTS, runConverted, testModel } from './helpers/tflite-test-model.ts';

const CASES = [
  { name: 'max 2x2 s2 SAME even (face model)', kind: 'max', x: [1, 8, 8, 3], f: [2, 2], s: [2, 2], padding: 'SAME' },
  { name: 'max 2x2 s2 SAME odd size', kind: 'max', x: [1, 7, 5, 2], f: [2, 2], s: [2, 2], padding: 'SAME' },
  { name: 'max 3x3 s2 VALID', kind: 'max', x: [1, 9, 8, 2], f: [3, 3], s: [2, 2], padding: 'VALID' },
  { name: 'avg 3x3 s1 SAME odd size (edge counts)', kind: 'avg', x: [1, 5, 7, 3], f: [3, 3], s: [1, 1], padding: 'SAME' },
  { name: 'avg 3x2 s2 SAME', kind: 'avg', x: [1, 7, 6, 2], f: [3, 2], s: [2, 2], padding: 'SAME' },
  { name: 'avg global VALID (selfie squeeze-excite)', kind: 'avg', x: [1, 6, 5, 4], f: [6, 5], s: [6, 5], padding: 'VALID' },
] as const;

describe('pooling mappings', () => {
  CASES.forEach((c, i) => {
    for (const layout of BODY_LAYOUTS) {
      test(`${c.name} [${layout} body]`, async () => {
        const x = randomTensor([...c.x], seededRandom(400 + i));
        const expected = referencePool2d({ data: x, shape: [...c.x] }, c.kind, c.f[0], c.f[1], c.s[0], c.s[1], c.padding);
        const options: PoolOptions = { padding: c.padding, filterH: c.f[0], filterW: c.f[1], strideH: c.s[0], strideW: c.s[1], activation: 'NONE' };
        const model = testModel(
          [{ shape: [...c.x] }, { shape: expected.shape }],
          [{ opName: c.kind === 'max' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', inputs: [0], outputs: [1], options }],
          [1],
        );
        assertClose(await runConverted(model, [x], layout), expected);
      });
    }
  });
});
