/**
 * Confidence -> alpha matte at model resolution: a smoothstep ramp of half-width `edgeSoftness`
 * centred on `threshold`, quantised to 0..255 (255 = person, 0 = background).
 */

/**
 * confidenceToAlpha writes the alpha (0..255) of each confidence (0..1) into `out` and returns it:
 * alpha = 255 * smoothstep(threshold - edgeSoftness, threshold + edgeSoftness, c); with
 * edgeSoftness 0 the edge is hard (c >= threshold -> 255, else 0).
 */
export function confidenceToAlpha(
  confidence: Float32Array,
  threshold: number,
  edgeSoftness: number,
  out: Uint8Array,
): Uint8Array {
  const n = confidence.length;
  if (out.length !== n) throw new RangeError(`confidenceToAlpha: out has ${out.length} values, expected ${n}`);
  if (!(edgeSoftness > 0)) {
    for (let i = 0; i < n; i++) out[i] = confidence[i] >= threshold ? 255 : 0;
    return out;
  }
  const lo = threshold - edgeSoftness;
  const hi = threshold + edgeSoftness;
  const invWidth = 1 / (hi - lo);
  for (let i = 0; i < n; i++) {
    const c = confidence[i];
    if (c <= lo) out[i] = 0;
    else if (c >= hi) out[i] = 255;
    else {
      const t = (c - lo) * invWidth;
      // Uint8Array stores truncate; +0.5 rounds to nearest.
      out[i] = t * t * (3 - 2 * t) * 255 + 0.5;
    }
  }
  return out;
}
