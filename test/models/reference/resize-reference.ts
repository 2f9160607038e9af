import type { Tensor4 } from './conv-reference.ts';

/** referenceResizeBilinear computes TFLite RESIZE_BILINEAR on NHWC x (TensorFlow's scaling: align_corners (in-1)/(out-1), half-pixel centres, or legacy asymmetric; taps clamped to the edge). */
export function referenceResizeBilinear(x: Tensor4, outH: number, outW: number, alignCorners: boolean, halfPixelCenters: boolean): Tensor4 {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const scale = (inSize: number, outSize: number) => (alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize);
  const source = (i: number, s: number) => (halfPixelCenters ? (i + 0.5) * s - 0.5 : i * s);
  const hs = scale(h, outH);
  const ws = scale(w, outW);
  const out = new Float32Array(n * outH * outW * c);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++) {
      const inY = source(oy, hs);
      const y0 = Math.max(Math.floor(inY), 0);
      const y1 = Math.min(Math.ceil(inY), h - 1);
      const fy = inY - Math.floor(inY);
      for (let ox = 0; ox < outW; ox++) {
        const inX = source(ox, ws);
        const x0 = Math.max(Math.floor(inX), 0);
        const x1 = Math.min(Math.ceil(inX), w - 1);
        const fx = inX - Math.floor(inX);
        for (let ch = 0; ch < c; ch++) {
          const at = (yy: number, xx: number) => x.data[((b * h + yy) * w + xx) * c + ch]!;
          const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
          const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
          out[((b * outH + oy) * outW + ox) * c + ch] = top + (bottom - top) * fy;
        }
      }
    }
  return { data: out, shape: [n, outH, outW, c] };
}
