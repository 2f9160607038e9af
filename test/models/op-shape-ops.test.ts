// PAD, RESHAPE, CONCATENATION and DEQUANTIZE mappings vs TypeScript references.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { randomTensor, seededRandom } from './helpers/seeded-random.ts';
import { assertClose, BODY_LAYOUTS, runConverted, testModel } from './helpers/tflite-test-model.ts';

function referencePad(x: Float32Array, shape: number[], pads: number[][]): { data: Float32Array; shape: number[] } {
  const outShape = shape.map((d, a) => d + pads[a]![0]! + pads[a]![1]!);
  const out = new Float32Array(outShape.reduce((p, d) => p * d, 1));
  const rank = shape.length;
  for (let i = 0; i < x.length; i++) {
    let rem = i;
    let o = 0;
    let stride = 1;
    for (let a = rank - 1; a >= 0; a--) {
      const idx = rem % shape[a]!;
      rem = Math.floor(rem / shape[a]!);
      o += (idx + pads[a]![0]!) * stride;
      stride *= outShape[a]!;
    }
    out[o] = x[i]!;
  }
  return { data: out, shape: outShape };
}

const PAD_CASES = [
  { name: 'channel padding (face model)', x: [1, 4, 4, 3], pads: [[0, 0], [0, 0], [0, 0], [0, 5]] },
  { name: 'odd spatial padding', x: [1, 3, 5, 2], pads: [[0, 0], [1, 2], [0, 3], [1, 0]] },
  { name: 'rank 3', x: [1, 4, 3], pads: [[0, 0], [2, 1], [0, 1]] },
];

describe('PAD mapping', () => {
  PAD_CASES.forEach((c, i) => {
    for (const layout of BODY_LAYOUTS) {
      test(`${c.name} [${layout} body]`, async () => {
        const x = randomTensor(c.x, seededRandom(900 + i));
        const expected = referencePad(x, c.x, c.pads);
        const model = testModel(
          [{ shape: c.x }, { shape: [c.x.length, 2], type: 'INT32', data: Int32Array.from(c.pads.flat()) }, { shape: expected.shape }],
          [{ opName: 'PAD', inputs: [0, 1], outputs: [2] }],
          [2],
        );
        assertClose(await runConverted(model, [x], layout), expected);
      });
    }
  });
});

describe('RESHAPE and CONCATENATION mappings', () => {
  for (const layout of BODY_LAYOUTS) {
    test(`RESHAPE after a conv-like layout change keeps NHWC element order [${layout} body]`, async () => {
      // RELU first so that in an NCHW body the reshape input is NCHW and must be transposed back.
      const x = randomTensor([1, 4, 3, 6], seededRandom(950));
      const model = testModel(
        [{ shape: [1, 4, 3, 6] }, { shape: [1, 4, 3, 6] }, { shape: [1, 36, 2] }],
        [
          { opName: 'RELU', inputs: [0], outputs: [1] },
          { opName: 'RESHAPE', inputs: [1], outputs: [2], options: { newShape: [1, -1, 2] } },
        ],
        [2],
      );
      assertClose(await runConverted(model, [x], layout), { data: x.map((v) => Math.max(v, 0)), shape: [1, 36, 2] });
    });

    for (const axis of [3, -1, 1, 2]) {
      test(`CONCATENATION rank 4 axis ${axis} [${layout} body]`, async () => {
        const rand = seededRandom(960 + axis);
        const shapes = [[1, 3, 4, 2], [1, 3, 4, 2]].map((s) => s.slice());
        const ax = axis < 0 ? axis + 4 : axis;
        shapes[1]![ax] = 3;
        const a = randomTensor(shapes[0]!, rand);
        const b = randomTensor(shapes[1]!, rand);
        const outShape = shapes[0]!.map((d, i) => (i === ax ? d + shapes[1]![i]! : d));
        const expected = new Float32Array(a.length + b.length);
        const outer = shapes[0]!.slice(0, ax).reduce((p, d) => p * d, 1);
        const chunkA = a.length / outer;
        const chunkB = b.length / outer;
        for (let o = 0; o < outer; o++) {
          expected.set(a.subarray(o * chunkA, (o + 1) * chunkA), o * (chunkA + chunkB));
          expected.set(b.subarray(o * chunkB, (o + 1) * chunkB), o * (chunkA + chunkB) + chunkA);
        }
        const model = testModel(
          [{ shape: shapes[0]! }, { shape: shapes[1]! }, { shape: outShape }],
          [{ opName: 'CONCATENATION', inputs: [0, 1], outputs: [2], options: { axis, activation: 'NONE' } }],
          [2],
        );
        assertClose(await runConverted(model, [a, b], layout), { data: expected, shape: outShape });
      });
    }

    test(`CONCATENATION rank 3 axis 1 (face model heads) [${layout} body]`, async () => {
      const rand = seededRandom(970);
      const a = randomTensor([1, 5, 4], rand);
      const b = randomTensor([1, 2, 4], rand);
      const model = testModel(
        [{ shape: [1, 5, 4] }, { shape: [1, 2, 4] }, { shape: [1, 7, 4] }],
        [{ opName: 'CONCATENATION', inputs: [0, 1], outputs: [2], options: { axis: 1, activation: 'NONE' } }],
        [2],
      );
      const expected = new Float32Array([...a, ...b]);
      assertClose(await runConverted(model, [a, b], layout), { data: expected, shape: [1, 7, 4] });
    });
  }
});

describe('DEQUANTIZE mapping', () => {
  test('float16 weights fold to float32 constants (normal, subnormal, negative zero, infinity)', async () => {
    // 1.0, -2.5, 65504 (max half), 2^-24 (smallest subnormal), -0, +inf
    const halves = Uint16Array.of(0x3c00, 0xc100, 0x7bff, 0x0001, 0x8000, 0x7c00);
    const values = [1, -2.5, 65504, 2 ** -24, -0, Infinity];
    const x = Float32Array.of(0.5, 0.5, 0.5, 0.5, 0.5, 0.5);
    const model = testModel(
      [{ shape: [6] }, { shape: [6], type: 'FLOAT16', data: new Uint8Array(halves.buffer) }, { shape: [6] }, { shape: [6] }],
      [
        { opName: 'DEQUANTIZE', inputs: [1], outputs: [2] },
        { opName: 'ADD', inputs: [0, 2], outputs: [3], options: { activation: 'NONE' } },
      ],
      [3],
    );
    for (const layout of BODY_LAYOUTS) {
      const out = await runConverted(model, [x], layout);
      assert.deepEqual([...out.data], values.map((v) => Math.fround(v + 0.5)));
    }
  });

  test('integer-quantised input is rejected naming the op', async () => {
    const model = testModel([{ shape: [2] }, { shape: [2] }], [{ opName: 'DEQUANTIZE', inputs: [0], outputs: [1] }], [1]);
    await assert.rejects(runConverted(model, [new Float32Array(2)], 'nchw'), /operator #0 \(DEQUANTIZE\)/);
  });
});
