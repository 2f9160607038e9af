// DENSIFY (sparse constant weights, as in face_detection_full_range_sparse.tflite) and DEPTH_TO_SPACE
// mappings vs hand-built and TypeScript references.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { densifyValues } from '../../models/convert/ops/densify.ts';
import { ConversionError } from '../../models/convert/conversion-error.ts';
import { convertTfliteToOnnx } from '../../models/convert/convert-model.ts';
import type { TfliteSparsity } from '../../models/tflite/tflite-model.ts';
import { randomTensor, seededRandom } from './helpers/seeded-random.ts';
import { assertClose, BODY_LAYOUTS, runConverted, testModel } from './helpers/tflite-test-model.ts';

/** csrLastDim encodes a dense row-major tensor as TFLite sparsity with every dim DENSE except the last, SPARSE_CSR (the layout MediaPipe's sparse face model uses). */
function csrLastDim(dense: Float32Array, shape: number[]): { values: Float32Array; sparsity: TfliteSparsity } {
  const last = shape[shape.length - 1]!;
  const rows = dense.length / last;
  const segments = [0];
  const indices: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < last; c++) {
      const v = dense[r * last + c]!;
      if (v !== 0) {
        indices.push(c);
        values.push(v);
      }
    }
    segments.push(indices.length);
  }
  const dims = shape.map((d, a) =>
    a < shape.length - 1
      ? { format: 'DENSE' as const, denseSize: d, arraySegments: [], arrayIndices: [] }
      : { format: 'SPARSE_CSR' as const, denseSize: 0, arraySegments: segments, arrayIndices: indices },
  );
  return { values: Float32Array.from(values), sparsity: { traversalOrder: shape.map((_, a) => a), blockMap: [], dimMetadata: dims } };
}

/** sparseRandom returns a random tensor with about `zeroFraction` of its entries set to 0. */
function sparseRandom(shape: number[], seed: number, zeroFraction: number): Float32Array {
  const rand = seededRandom(seed);
  return randomTensor(shape, rand).map((v) => (rand() < zeroFraction ? 0 : v));
}

/** float16Bytes encodes normal float values as little-endian IEEE half floats (round toward zero; test values are exactly representable). */
function float16Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  values.forEach((v, i) => {
    let h = 0;
    if (v !== 0) {
      const exp = Math.floor(Math.log2(Math.abs(v)));
      const frac = Math.round((Math.abs(v) / 2 ** exp - 1) * 1024);
      h = (v < 0 ? 0x8000 : 0) | ((exp + 15) << 10) | frac;
    }
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >> 8;
  });
  return out;
}

describe('densifyValues', () => {
  test('2x2 block-sparse 4x4 matrix (traversal [0, 1, 2, 3], block_map [0, 1]) matches the hand-written dense matrix', () => {
    const sparsity: TfliteSparsity = {
      traversalOrder: [0, 1, 2, 3],
      blockMap: [0, 1],
      dimMetadata: [
        { format: 'DENSE', denseSize: 2, arraySegments: [], arrayIndices: [] },
        { format: 'SPARSE_CSR', denseSize: 0, arraySegments: [0, 1, 2], arrayIndices: [0, 1] },
        { format: 'DENSE', denseSize: 2, arraySegments: [], arrayIndices: [] },
        { format: 'DENSE', denseSize: 2, arraySegments: [], arrayIndices: [] },
      ],
    };
    const dense = densifyValues(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), [4, 4], sparsity);
    assert.deepEqual(Array.from(dense), [1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8]);
  });

  const CSR_CASES = [
    { name: '1x1 conv weights [8, 1, 1, 32], 70% zeros', shape: [8, 1, 1, 32], zeros: 0.7 },
    { name: 'rank 2 [5, 7], 50% zeros, one empty row', shape: [5, 7], zeros: 0.5 },
    { name: 'all zeros [3, 4]', shape: [3, 4], zeros: 1 },
  ];
  CSR_CASES.forEach((c, i) => {
    test(`CSR on the last dim round-trips: ${c.name}`, () => {
      const dense = sparseRandom(c.shape, 300 + i, c.zeros);
      if (c.shape.length === 2) dense.fill(0, 0, c.shape[1]!);
      const { values, sparsity } = csrLastDim(dense, c.shape);
      assert.deepEqual(densifyValues(values, c.shape, sparsity), dense);
    });
  });

  test('throws when the metadata does not address every stored value', () => {
    const { values, sparsity } = csrLastDim(Float32Array.of(1, 0, 2, 3), [2, 2]);
    assert.throws(() => densifyValues(Float32Array.of(...values, 9), [2, 2], sparsity), /addresses 3 of 4 stored values/);
    assert.throws(() => densifyValues(values, [2], sparsity), /traversal dims/);
  });
});

describe('DENSIFY mapping', () => {
  for (const layout of BODY_LAYOUTS) {
    test(`sparse float16 1x1 conv weights -> DENSIFY -> DEQUANTIZE -> CONV_2D matches a dense reference [${layout} body]`, async () => {
      const [outC, inC] = [6, 8];
      // multiples of 1/8 in [-1, 1] are exact in float16
      const w = sparseRandom([outC, 1, 1, inC], 410, 0.6).map((v) => Math.round(v * 8) / 8);
      const bias = Float32Array.from({ length: outC }, (_, o) => o / 4 - 0.5);
      const x = randomTensor([1, 3, 4, inC], seededRandom(411));
      const { values, sparsity } = csrLastDim(w, [outC, 1, 1, inC]);
      const model = testModel(
        [
          { shape: [1, 3, 4, inC] },
          { shape: [outC, 1, 1, inC], type: 'FLOAT16', data: float16Bytes(values) },
          { shape: [outC, 1, 1, inC], type: 'FLOAT16' },
          { shape: [outC, 1, 1, inC] },
          { shape: [outC], data: bias },
          { shape: [1, 3, 4, outC] },
        ],
        [
          { opName: 'DENSIFY', inputs: [1], outputs: [2] },
          { opName: 'DEQUANTIZE', inputs: [2], outputs: [3] },
          {
            opName: 'CONV_2D',
            inputs: [0, 3, 4],
            outputs: [5],
            options: { padding: 'VALID', strideW: 1, strideH: 1, dilationW: 1, dilationH: 1, depthMultiplier: 1, activation: 'NONE' },
          },
        ],
        [5],
      );
      model.tensors[1]!.sparsity = sparsity;
      const expected = new Float32Array(3 * 4 * outC);
      for (let p = 0; p < 12; p++) {
        for (let o = 0; o < outC; o++) {
          let s = bias[o]!;
          for (let c = 0; c < inC; c++) s += x[p * inC + c]! * w[o * inC + c]!;
          expected[p * outC + o] = s;
        }
      }
      assertClose(await runConverted(model, [x], layout), { data: expected, shape: [1, 3, 4, outC] });
    });
  }

  test('a sparse constant used without DENSIFY is rejected with a ConversionError', () => {
    const { values, sparsity } = csrLastDim(Float32Array.of(1, 0, 0, 2), [1, 1, 1, 4]);
    const model = testModel(
      [{ shape: [1, 2, 2, 4] }, { shape: [1, 1, 1, 4], data: values }, { shape: [1, 2, 2, 4] }],
      [{ opName: 'ADD', inputs: [0, 1], outputs: [2], options: { activation: 'NONE' } }],
      [2],
    );
    model.tensors[1]!.sparsity = sparsity;
    assert.throws(() => convertTfliteToOnnx(model), (err: unknown) => err instanceof ConversionError && /sparse and must go through DENSIFY/.test(err.message));
  });
});

function referenceDepthToSpace(x: Float32Array, shape: number[], b: number): { data: Float32Array; shape: number[] } {
  const [n, h, w, c] = shape as [number, number, number, number];
  const oc = c / (b * b);
  const out = new Float32Array(x.length);
  for (let bi = 0; bi < n; bi++)
    for (let y = 0; y < h * b; y++)
      for (let xx = 0; xx < w * b; xx++)
        for (let k = 0; k < oc; k++) {
          const src = ((bi * h + Math.floor(y / b)) * w + Math.floor(xx / b)) * c + ((y % b) * b + (xx % b)) * oc + k;
          out[((bi * h * b + y) * w * b + xx) * oc + k] = x[src]!;
        }
  return { data: out, shape: [n, h * b, w * b, oc] };
}

describe('DEPTH_TO_SPACE mapping', () => {
  const CASES = [
    { name: 'block 2, 4 -> 1 channel (face full-range score head)', x: [1, 3, 3, 4], b: 2 },
    { name: 'block 2, 64 -> 16 channels (face full-range box head)', x: [1, 2, 3, 64], b: 2 },
    { name: 'block 3, 18 -> 2 channels', x: [1, 2, 2, 18], b: 3 },
  ];
  CASES.forEach((c, i) => {
    for (const layout of BODY_LAYOUTS) {
      test(`${c.name} [${layout} body]`, async () => {
        const x = randomTensor(c.x, seededRandom(700 + i));
        const expected = referenceDepthToSpace(x, c.x, c.b);
        const model = testModel([{ shape: c.x }, { shape: expected.shape }], [{ opName: 'DEPTH_TO_SPACE', inputs: [0], outputs: [1], options: { blockSize: c.b } }], [1]);
        assertClose(await runConverted(model, [x], layout), expected);
      });
    }
  });

  test('a block size that does not divide the channels is rejected', () => {
    const model = testModel([{ shape: [1, 2, 2, 6] }, { shape: [1, 4, 4, 1] }], [{ opName: 'DEPTH_TO_SPACE', inputs: [0], outputs: [1], options: { blockSize: 2 } }], [1]);
    assert.throws(() => convertTfliteToOnnx(model), (err: unknown) => err instanceof ConversionError && /does not divide 6 channels/.test(err.message));
  });
});
