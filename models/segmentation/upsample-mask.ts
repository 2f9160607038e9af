import { bilinearTaps } from './preprocess.ts';

/** upsampleMask resizes a single-channel confidence mask (row-major, maskW x maskH, values 0..1) to outW x outH px with half-pixel-centre bilinear interpolation, keeping the model's own values (no min-max normalisation). */
export function upsampleMask(mask: Float32Array, maskW: number, maskH: number, outW: number, outH: number): Float32Array {
  if (mask.length < maskW * maskH) throw new Error(`mask has ${mask.length} values, expected ${maskW}x${maskH}`);
  const out = new Float32Array(outW * outH);
  const xs = bilinearTaps(maskW, outW);
  const ys = bilinearTaps(maskH, outH);
  for (let oy = 0; oy < outH; oy++) {
    const r0 = ys.lo[oy]! * maskW;
    const r1 = ys.hi[oy]! * maskW;
    const fy = ys.frac[oy]!;
    for (let ox = 0; ox < outW; ox++) {
      const x0 = xs.lo[ox]!;
      const x1 = xs.hi[ox]!;
      const fx = xs.frac[ox]!;
      const top = mask[r0 + x0]! + (mask[r0 + x1]! - mask[r0 + x0]!) * fx;
      const bottom = mask[r1 + x0]! + (mask[r1 + x1]! - mask[r1 + x0]!) * fx;
      out[oy * outW + ox] = top + (bottom - top) * fy;
    }
  }
  return out;
}

/** confidenceToGray8 converts confidences 0..1 to 8-bit grey levels round(clamp(c) x 255). */
export function confidenceToGray8(confidence: Float32Array): Uint8Array {
  const out = new Uint8Array(confidence.length);
  for (let i = 0; i < confidence.length; i++) out[i] = Math.round(Math.min(Math.max(confidence[i]!, 0), 1) * 255);
  return out;
}
