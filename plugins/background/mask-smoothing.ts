/**
 * Temporal smoothing of a person-confidence mask, as MediaPipe's SegmentationSmoothingCalculator does it.
 *
 * Source: google-ai-edge/mediapipe, mediapipe/calculators/image/segmentation_smoothing_calculator.cc
 * (RenderCpu, `blending_fn`). With p the new confidence, MediaPipe estimates the uncertainty
 * 1 - (1 - H(p))^2 (H = binary entropy in bits) by a polynomial in x = (p - 0.5)^2:
 *   uncertainty = 1 - min(1, x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * c5)))))
 *   out = p + (previous - p) * uncertainty * combine_with_previous_ratio
 * so confident pixels follow the new frame at once and uncertain ones (near 0.5) lean on the past.
 */

// Polynomial coefficients from MediaPipe's segmentation_smoothing_calculator.cc.
const C1 = 5.68842;
const C2 = -0.748699;
const C3 = -57.8051;
const C4 = 291.309;
const C5 = -624.717;

/** mediaPipeUncertainty returns MediaPipe's polynomial uncertainty estimate (0..1) for a confidence p in 0..1. */
export function mediaPipeUncertainty(p: number): number {
  const t = p - 0.5;
  const x = t * t;
  const certainty = x * (C1 + x * (C2 + x * (C3 + x * (C4 + x * C5))));
  return certainty >= 1 ? 0 : 1 - certainty;
}

/**
 * smoothMask mixes `current` (confidence 0..1 per pixel) with `previous` into `out` using MediaPipe's
 * uncertainty-weighted rule with `ratio` = combine_with_previous_ratio (0..1, 0 = off); without a
 * previous mask of the same length the current mask is copied. `out` may alias `current` or `previous`. Returns `out`.
 */
export function smoothMask(
  current: Float32Array,
  previous: Float32Array | undefined,
  ratio: number,
  out: Float32Array,
): Float32Array {
  const n = current.length;
  if (out.length !== n) throw new RangeError(`smoothMask: out has ${out.length} values, expected ${n}`);
  if (previous === undefined || previous.length !== n || ratio <= 0) {
    if (out !== current) out.set(current);
    return out;
  }
  for (let i = 0; i < n; i++) {
    const p = current[i];
    const t = p - 0.5;
    const x = t * t;
    const certainty = x * (C1 + x * (C2 + x * (C3 + x * (C4 + x * C5))));
    const uncertainty = certainty >= 1 ? 0 : 1 - certainty;
    out[i] = p + (previous[i] - p) * (uncertainty * ratio);
  }
  return out;
}
