import type { RgbImage } from './rgb-image.ts';

/** ModelInputSpec describes an NHWC model input: size in px and the value range RGB 0..255 is mapped to, e.g. [0, 1] for selfie, [-1, 1] for face detection. */
export interface ModelInputSpec {
  width: number;
  height: number;
  range: [number, number];
}

/** stretchToTensor resizes the whole image to `spec` size ignoring aspect ratio with plain bilinear interpolation (half-pixel centres, 2x2 taps, edge clamp, as a GL_LINEAR texture fetch or OpenCV INTER_LINEAR) and returns float32 NHWC RGB [1, H, W, 3] scaled linearly from 0..255 to `spec.range`; throws on empty images. */
export function stretchToTensor(image: RgbImage, spec: ModelInputSpec): Float32Array {
  const { data, width: inW, height: inH, channels } = image;
  if (inW <= 0 || inH <= 0 || data.length < inW * inH * channels) throw new Error(`bad image ${inW}x${inH}x${channels} with ${data.length} bytes`);
  const { width: outW, height: outH } = spec;
  const scale = (spec.range[1] - spec.range[0]) / 255;
  const offset = spec.range[0];
  const out = new Float32Array(outW * outH * 3);
  const xs = bilinearTaps(inW, outW);
  const ys = bilinearTaps(inH, outH);
  for (let oy = 0; oy < outH; oy++) {
    const row0 = ys.lo[oy]! * inW;
    const row1 = ys.hi[oy]! * inW;
    const fy = ys.frac[oy]!;
    for (let ox = 0; ox < outW; ox++) {
      const x0 = xs.lo[ox]!;
      const x1 = xs.hi[ox]!;
      const fx = xs.frac[ox]!;
      const p00 = (row0 + x0) * channels;
      const p01 = (row0 + x1) * channels;
      const p10 = (row1 + x0) * channels;
      const p11 = (row1 + x1) * channels;
      const o = (oy * outW + ox) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[p00 + c]! + (data[p01 + c]! - data[p00 + c]!) * fx;
        const bottom = data[p10 + c]! + (data[p11 + c]! - data[p10 + c]!) * fx;
        out[o + c] = (top + (bottom - top) * fy) * scale + offset;
      }
    }
  }
  return out;
}

/** BilinearTaps holds, per output index, the two source indices and the weight of the second one. */
export interface BilinearTaps {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float32Array;
}

/** bilinearTaps computes half-pixel-centre bilinear taps for resizing one axis from `inSize` to `outSize` px, clamping at the edges. */
export function bilinearTaps(inSize: number, outSize: number): BilinearTaps {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const ratio = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = Math.min(Math.max((i + 0.5) * ratio - 0.5, 0), inSize - 1);
    const l = Math.floor(src);
    lo[i] = l;
    hi[i] = Math.min(l + 1, inSize - 1);
    frac[i] = src - l;
  }
  return { lo, hi, frac };
}
