import { tfSamePadBefore, type Tensor4 } from './conv-reference.ts';

/** referencePool2d computes TFLite AVERAGE_POOL_2D (padding cells not counted) or MAX_POOL_2D (padding cells ignored) on NHWC x. */
export function referencePool2d(x: Tensor4, kind: 'avg' | 'max', fh: number, fw: number, sh: number, sw: number, padding: 'SAME' | 'VALID'): Tensor4 {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const oh = padding === 'SAME' ? Math.ceil(h / sh) : Math.ceil((h - fh + 1) / sh);
  const ow = padding === 'SAME' ? Math.ceil(w / sw) : Math.ceil((w - fw + 1) / sw);
  const padT = padding === 'SAME' ? tfSamePadBefore(h, fh, sh) : 0;
  const padL = padding === 'SAME' ? tfSamePadBefore(w, fw, sw) : 0;
  const out = new Float32Array(n * oh * ow * c);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ch = 0; ch < c; ch++) {
          let acc = kind === 'max' ? -Infinity : 0;
          let count = 0;
          for (let ky = 0; ky < fh; ky++)
            for (let kx = 0; kx < fw; kx++) {
              const iy = oy * sh - padT + ky;
              const ix = ox * sw - padL + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = x.data[((b * h + iy) * w + ix) * c + ch]!;
              acc = kind === 'max' ? Math.max(acc, v) : acc + v;
              count++;
            }
          out[((b * oh + oy) * ow + ox) * c + ch] = kind === 'max' ? acc : acc / count;
        }
  return { data: out, shape: [n, oh, ow, c] };
}

/** referenceMean averages NHWC-or-any-rank x over `axes`, keeping reduced axes as 1 when keepDims. */
export function referenceMean(data: Float32Array, shape: number[], axes: number[], keepDims: boolean): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShapeKeep = shape.map((d, a) => (axes.includes(a) ? 1 : d));
  const strides = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) strides[a] = strides[a + 1]! * shape[a + 1]!;
  const outStrides = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) outStrides[a] = outStrides[a + 1]! * outShapeKeep[a + 1]!;
  const out = new Float32Array(outShapeKeep.reduce((x, y) => x * y, 1));
  const count = axes.reduce((x, a) => x * shape[a]!, 1);
  for (let i = 0; i < data.length; i++) {
    let o = 0;
    for (let a = 0; a < rank; a++) if (!axes.includes(a)) o += (Math.floor(i / strides[a]!) % shape[a]!) * outStrides[a]!;
    out[o]! += data[i]! / count;
  }
  return { data: out, shape: keepDims ? outShapeKeep : shape.filter((_, a) => !axes.includes(a)) };
}
