// CONV_2D and DEPTHWISE_CONV_2D mappings vs plain TypeScript references on seeded random tensors.
import { describe, test } from 'node:test';
import type { ConvOptions } from '../../models/tflite/builtin-options.ts';
import { referenceConv2d } from './reference/conv-reference.ts';
import { randomTensor, seededRandom } from './helpers/seeded-random.ts';
import { assertClose, BODY_LAYOUTS, runConverted, testModel } from './helpers/tflite-test-model.ts';

const relu6 = (v: number) => Math.min(Math.max(v, 0), 6);

const CONV_CASES = [
  { name: '3x3 s1 SAME, odd size', x: [1, 7, 5, 3], k: [3, 3], outC: 4, s: [1, 1], d: [1, 1], padding: 'SAME', act: 'NONE' },
  { name: '3x3 s2 SAME, odd size (asymmetric pad)', x: [1, 9, 6, 2], k: [3, 3], outC: 5, s: [2, 2], d: [1, 1], padding: 'SAME', act: 'NONE' },
  { name: '2x2 s2 SAME even size (pad only at the end)', x: [1, 8, 8, 3], k: [2, 2], outC: 2, s: [2, 2], d: [1, 1], padding: 'SAME', act: 'RELU' },
  { name: '5x3 s(2,1) VALID', x: [1, 11, 6, 4], k: [5, 3], outC: 3, s: [2, 1], d: [1, 1], padding: 'VALID', act: 'RELU6' },
  { name: '1x1 VALID, no bias', x: [1, 4, 3, 6], k: [1, 1], outC: 7, s: [1, 1], d: [1, 1], padding: 'VALID', act: 'NONE', noBias: true },
  { name: '3x3 dilation 2 SAME', x: [1, 9, 7, 2], k: [3, 3], outC: 3, s: [1, 1], d: [2, 2], padding: 'SAME', act: 'RELU_N1_TO_1' },
] as const;

describe('CONV_2D mapping', () => {
  CONV_CASES.forEach((c, i) => {
    for (const layout of BODY_LAYOUTS) {
      test(`${c.name} [${layout} body]`, async () => {
        const rand = seededRandom(100 + i);
        const x = randomTensor([...c.x], rand);
        const wShape = [c.outC, c.k[0], c.k[1], c.x[3]];
        const w = randomTensor(wShape, rand);
        const b = randomTensor([c.outC], rand);
        const options: ConvOptions = { padding: c.padding, strideH: c.s[0], strideW: c.s[1], dilationH: c.d[0], dilationW: c.d[1], depthMultiplier: 1, activation: c.act };
        const expected = referenceConv2d({ data: x, shape: [...c.x] }, { data: w, shape: wShape }, 'noBias' in c ? undefined : b, options);
        const act = c.act === 'RELU' ? (v: number) => Math.max(v, 0) : c.act === 'RELU6' ? relu6 : c.act === 'RELU_N1_TO_1' ? (v: number) => Math.min(Math.max(v, -1), 1) : (v: number) => v;
        expected.data = expected.data.map(act);
        const model = testModel(
          [{ shape: [...c.x] }, { shape: wShape, data: w }, { shape: [c.outC], data: b }, { shape: expected.shape }],
          [{ opName: 'CONV_2D', inputs: [0, 1, 'noBias' in c ? -1 : 2], outputs: [3], options }],
          [3],
        );
        assertClose(await runConverted(model, [x], layout), expected);
      });
    }
  });
});

const DEPTHWISE_CASES = [
  { name: '3x3 s1 SAME odd size', x: [1, 7, 9, 4], k: [3, 3], m: 1, s: [1, 1], padding: 'SAME' },
  { name: '3x3 s2 SAME odd size', x: [1, 9, 7, 3], k: [3, 3], m: 1, s: [2, 2], padding: 'SAME' },
  { name: '5x5 s2 SAME even size', x: [1, 8, 10, 2], k: [5, 5], m: 1, s: [2, 2], padding: 'SAME' },
  { name: '3x3 depth multiplier 2 VALID', x: [1, 6, 5, 3], k: [3, 3], m: 2, s: [1, 1], padding: 'VALID' },
] as const;

describe('DEPTHWISE_CONV_2D mapping', () => {
  DEPTHWISE_CASES.forEach((c, i) => {
    for (const layout of BODY_LAYOUTS) {
      test(`${c.name} [${layout} body]`, async () => {
        const rand = seededRandom(200 + i);
        const outC = c.x[3] * c.m;
        const x = randomTensor([...c.x], rand);
        const wShape = [1, c.k[0], c.k[1], outC];
        const w = randomTensor(wShape, rand);
        const b = randomTensor([outC], rand);
        const options: ConvOptions = { padding: c.padding, strideH: c.s[0], strideW: c.s[1], dilationH: 1, dilationW: 1, depthMultiplier: c.m, activation: 'NONE' };
        const expected = referenceConv2d({ data: x, shape: [...c.x] }, { data: w, shape: wShape }, b, options, c.m);
        const model = testModel(
          [{ shape: [...c.x] }, { shape: wShape, data: w }, { shape: [outC], data: b }, { shape: expected.shape }],
          [{ opName: 'DEPTHWISE_CONV_2D', inputs: [0, 1, 2], outputs: [3], options }],
          [3],
        );
        assertClose(await runConverted(model, [x], layout), expected);
      });
    }
  });
});
