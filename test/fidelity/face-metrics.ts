// face-metrics.ts: box overlap and one-to-one matching of face detections, shared by the face
// oracle's self-test and the face fidelity test.

/** FaceBox is an axis-aligned box in px: top-left (x, y), width, height. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** boxIou is the intersection over union (0..1) of two boxes; 0 when either is empty. */
export function boxIou(a: FaceBox, b: FaceBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** FaceMatch pairs detection `a` of the first list with `b` of the second at IoU `iou`. */
export interface FaceMatch {
  a: number;
  b: number;
  iou: number;
}

/**
 * matchFaces pairs two detection lists one to one, greedily by decreasing IoU, keeping only pairs
 * with IoU > minIou (default 0, i.e. any overlap); `unmatchedA` / `unmatchedB` list the indices left over.
 */
export function matchFaces(a: readonly FaceBox[], b: readonly FaceBox[], minIou = 0): { matches: FaceMatch[]; unmatchedA: number[]; unmatchedB: number[] } {
  const pairs: FaceMatch[] = [];
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      const iou = boxIou(a[i], b[j]);
      if (iou > minIou) pairs.push({ a: i, b: j, iou });
    }
  }
  pairs.sort((p, q) => q.iou - p.iou);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  const matches: FaceMatch[] = [];
  for (const p of pairs) {
    if (usedA.has(p.a) || usedB.has(p.b)) continue;
    usedA.add(p.a);
    usedB.add(p.b);
    matches.push(p);
  }
  return {
    matches: matches.sort((p, q) => p.a - q.a),
    unmatchedA: a.map((_, i) => i).filter((i) => !usedA.has(i)),
    unmatchedB: b.map((_, j) => j).filter((j) => !usedB.has(j)),
  };
}
