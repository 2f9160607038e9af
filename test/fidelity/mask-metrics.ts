/** MaskComparison is how closely two confidence masks of the same size agree. */
export interface MaskComparison {
  /** Intersection over union of the masks thresholded at `threshold` (1 when both are empty). */
  iou: number;
  /** Mean absolute difference of the confidences, 0..1. */
  mad: number;
  /** Largest absolute difference of any pixel's confidence, 0..1. */
  maxAbsDiff: number;
  /** Fraction of pixels at or above the threshold in `a` and in `b`, 0..1. */
  areaA: number;
  areaB: number;
}

/**
 * compareMasks compares two 8-bit confidence masks (confidence x 255, same length); a pixel is
 * foreground when confidence >= threshold (default 0.5). Throws if the lengths differ.
 */
export function compareMasks(a: Uint8Array, b: Uint8Array, threshold = 0.5): MaskComparison {
  if (a.length !== b.length) throw new Error(`mask sizes differ: ${a.length} vs ${b.length} pixels`);
  if (a.length === 0) throw new Error('masks are empty');
  const cut = threshold * 255;
  let intersection = 0;
  let union = 0;
  let countA = 0;
  let countB = 0;
  let sumAbsDiff = 0;
  let maxAbsDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const inA = a[i] >= cut;
    const inB = b[i] >= cut;
    if (inA) countA++;
    if (inB) countB++;
    if (inA && inB) intersection++;
    if (inA || inB) union++;
    const diff = Math.abs(a[i] - b[i]);
    sumAbsDiff += diff;
    if (diff > maxAbsDiff) maxAbsDiff = diff;
  }
  return {
    iou: union === 0 ? 1 : intersection / union,
    mad: sumAbsDiff / a.length / 255,
    maxAbsDiff: maxAbsDiff / 255,
    areaA: countA / a.length,
    areaB: countB / a.length,
  };
}
