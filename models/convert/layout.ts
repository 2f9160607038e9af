/** Layout is the axis order of an ONNX value: 'native' keeps the TFLite order (NHWC for rank 4), 'nchw' is the permuted rank-4 order ONNX Conv expects. */
export type Layout = 'native' | 'nchw';

/** NHWC_TO_NCHW is the Transpose perm taking an NHWC value to NCHW. */
export const NHWC_TO_NCHW = [0, 3, 1, 2];

/** NCHW_TO_NHWC is the Transpose perm taking an NCHW value back to NHWC. */
export const NCHW_TO_NHWC = [0, 2, 3, 1];

/** axisInLayout maps a non-negative TFLite (NHWC) axis of a rank-4 tensor to its position in `layout`. */
export function axisInLayout(axis: number, layout: Layout): number {
  return layout === 'nchw' ? NHWC_TO_NCHW.indexOf(axis) : axis;
}

/** shapeInLayout returns a rank-4 NHWC shape reordered for `layout`. */
export function shapeInLayout(shape: number[], layout: Layout): number[] {
  return layout === 'nchw' ? NHWC_TO_NCHW.map((a) => shape[a]!) : shape.slice();
}

/** permuteData transposes a dense row-major Float32Array of `shape` by `perm` (output axis i = input axis perm[i]), as ONNX Transpose does. */
export function permuteData(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * shape[i + 1]!;
  const strideForOut = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let a = 0; a < rank; a++) src += idx[a]! * strideForOut[a]!;
    out[o] = data[src]!;
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a]! < outShape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}
