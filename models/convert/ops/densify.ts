// Sparse-to-dense algorithm as in TensorFlow Lite's FormatConverter::Populate
// (tensorflow/lite/kernels/internal/utils/sparsity_format_converter.cc, Apache-2.0).
import type { TfliteSparsity } from '../../tflite/tflite-model.ts';
import type { OpMapping } from '../op-mapping.ts';

/** densifyValues expands the stored values of a TFLite sparse tensor (traversal order, optional block dims, DENSE / SPARSE_CSR levels) into a dense row-major Float32Array of `denseShape`, zeros elsewhere; throws if the metadata and value count disagree. */
export function densifyValues(values: Float32Array, denseShape: number[], sparsity: TfliteSparsity): Float32Array {
  const rank = denseShape.length;
  const { traversalOrder, blockMap, dimMetadata } = sparsity;
  const levels = traversalOrder.length;
  if (levels !== rank + blockMap.length || dimMetadata.length !== levels) {
    throw new Error(`sparsity has ${levels} traversal dims and ${dimMetadata.length} metadata entries for rank ${rank} with ${blockMap.length} block dims`);
  }
  const blockSize = blockMap.map((_, b) => dimMetadata[rank + b]!.denseSize);
  const strides = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) strides[a] = strides[a + 1]! * denseShape[a + 1]!;
  const out = new Float32Array(denseShape.reduce((p, d) => p * d, 1));
  const indices = new Array<number>(levels).fill(0);
  const origIndex = new Array<number>(rank).fill(0);
  let next = 0;

  const emit = () => {
    for (let l = 0; l < rank; l++) origIndex[traversalOrder[l]!] = indices[l]!;
    for (let l = rank; l < levels; l++) {
      const b = traversalOrder[l]! - rank;
      const dim = blockMap[b]!;
      origIndex[dim] = origIndex[dim]! * blockSize[b]! + indices[l]!;
    }
    let flat = 0;
    for (let a = 0; a < rank; a++) {
      if (origIndex[a]! >= denseShape[a]!) throw new Error(`sparse index ${origIndex[a]} out of range on dim ${a} (size ${denseShape[a]})`);
      flat += origIndex[a]! * strides[a]!;
    }
    if (next >= values.length) throw new Error(`sparse metadata addresses more than the ${values.length} stored values`);
    out[flat] = values[next++]!;
  };

  const populate = (level: number, prev: number) => {
    if (level === levels) return emit();
    const meta = dimMetadata[level]!;
    if (meta.format === 'DENSE') {
      for (let i = 0; i < meta.denseSize; i++) {
        indices[level] = i;
        populate(level + 1, prev * meta.denseSize + i);
      }
      return;
    }
    const start = meta.arraySegments[prev];
    const end = meta.arraySegments[prev + 1];
    if (start === undefined || end === undefined) throw new Error(`array_segments too short at level ${level}`);
    for (let i = start; i < end; i++) {
      const index = meta.arrayIndices[i];
      if (index === undefined) throw new Error(`array_indices too short at level ${level}`);
      indices[level] = index;
      populate(level + 1, i);
    }
  };

  populate(0, 0);
  if (next !== values.length) throw new Error(`sparse metadata addresses ${next} of ${values.length} stored values`);
  return out;
}

/** densifyMapping folds DENSIFY of a constant sparse float32/float16 tensor (the sparse weights of MediaPipe's *_sparse models) into a dense float32 constant; it emits no node. */
export const densifyMapping: OpMapping = (ctx, op) => {
  const xIndex = op.inputs[0]!;
  const x = ctx.tensor(xIndex);
  const out = ctx.tensor(op.outputs[0]!);
  if (!x.sparsity || !x.data || (x.type !== 'FLOAT16' && x.type !== 'FLOAT32')) {
    throw ctx.fail(`DENSIFY input '${x.name}' must be a constant sparse float32/float16 tensor`, 'ERR_TFLITE_UNSUPPORTED_OP');
  }
  const stored = ctx.floatConstantOfStoredValues(xIndex);
  try {
    ctx.fold(op.outputs[0]!, densifyValues(stored, out.shape, x.sparsity));
  } catch (error) {
    throw ctx.fail(`DENSIFY of '${x.name}': ${(error as Error).message}`);
  }
};
