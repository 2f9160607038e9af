// ADD, MUL, RELU, RELU6, LOGISTIC and HARD_SWISH mappings vs TypeScript references, with broadcasting.
import { describe, test } from 'node:test';
import { randomTensor, seededRandom } from './helpers/seeded-random.ts';
import { assertClose, BODY_LAYOUTS, runConverted, testModel } from './helpers/tflite-test-model.ts';

const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function broadcast(a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], f: (x: number, y: number) => number): Float32Array {
  const shape = aShape;
  const rank = shape.length;
  const bFull = [...new Array<number>(rank - bShape.length).fill(1), ...bShape];
  const out = new Float32Array(count(shape));
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let bi = 0;
    let bStride = 1;
    const idx = new Array<number>(rank);
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax] = rem % shape[ax]!;
      rem = Math.floor(rem / shape[ax]!);
    }
    for (let ax = rank - 1; ax >= 0; ax--) {
      bi += (bFull[ax] === 1 ? 0 : idx[ax]!) * bStride;
      bStride *= bFull[ax]!;
    }
    out[i] = f(a[i]!, b[bi]!);
  }
  return out;
}

const BINARY_CASES = [
  { name: 'ADD same shape', op: 'ADD', a: [1, 5, 3, 4], b: [1, 5, 3, 4], constB: false, act: 'NONE' },
  { name: 'ADD constant [C] operand, fused RELU', op: 'ADD', a: [1, 3, 5, 6], b: [6], constB: true, act: 'RELU' },
  { name: 'MUL by [1, 1, 1, C] activation (squeeze-excite)', op: 'MUL', a: [1, 4, 7, 5], b: [1, 1, 1, 5], constB: false, act: 'NONE' },
  { name: 'MUL by constant [1, 1, 1, C], fused RELU6', op: 'MUL', a: [1, 3, 3, 2], b: [1, 1, 1, 2], constB: true, act: 'RELU6' },
  { name: 'ADD rank 3 tensors', op: 'ADD', a: [1, 7, 4], b: [1, 7, 4], constB: false, act: 'NONE' },
] as const;

describe('binary elementwise mappings', () => {
  BINARY_CASES.forEach((c, i) => {
    for (const layout of BODY_LAYOUTS) {
      test(`${c.name} [${layout} body]`, async () => {
        const rand = seededRandom(600 + i);
        const a = randomTensor([...c.a], rand, -4, 4);
        const b = randomTensor([...c.b], rand, -4, 4);
        const act = c.act === 'RELU' ? (v: number) => Math.max(v, 0) : c.act === 'RELU6' ? (v: number) => Math.min(Math.max(v, 0), 6) : (v: number) => v;
        const expected = broadcast(a, c.a, b, c.b, c.op === 'ADD' ? (x, y) => act(x + y) : (x, y) => act(x * y));
        const model = testModel(
          [{ shape: [...c.a] }, c.constB ? { shape: [...c.b], data: b } : { shape: [...c.b] }, { shape: [...c.a] }],
          [{ opName: c.op, inputs: [0, 1], outputs: [2], options: { activation: c.act } }],
          [2],
        );
        assertClose(await runConverted(model, c.constB ? [a] : [a, b], layout), { data: expected, shape: [...c.a] });
      });
    }
  });
});

const UNARY: Array<{ op: string; f: (x: number) => number }> = [
  { op: 'RELU', f: (x) => Math.max(x, 0) },
  { op: 'RELU6', f: (x) => Math.min(Math.max(x, 0), 6) },
  { op: 'RELU_N1_TO_1', f: (x) => Math.min(Math.max(x, -1), 1) },
  { op: 'LOGISTIC', f: (x) => 1 / (1 + Math.exp(-x)) },
  { op: 'HARD_SWISH', f: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6 },
];

describe('unary activation mappings', () => {
  UNARY.forEach((u, i) => {
    for (const shape of [[1, 5, 3, 7], [2, 9]]) {
      for (const layout of BODY_LAYOUTS) {
        test(`${u.op} on [${shape}] [${layout} body]`, async () => {
          const x = randomTensor(shape, seededRandom(700 + i), -8, 8);
          const model = testModel([{ shape }, { shape }], [{ opName: u.op, inputs: [0], outputs: [1] }], [1]);
          assertClose(await runConverted(model, [x], layout), { data: x.map(u.f), shape });
        });
      }
    }
  });
});
