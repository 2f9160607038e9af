// Decoding options from MediaPipe face_detection_short_range (TensorsToDetectionsCalculatorOptions:
// num_coords 16, box/keypoint offsets 0/4, 6 keypoints, sigmoid_score, score_clipping_thresh 100,
// reverse_output_order, x/y/w/h_scale 128, min_score_thresh 0.5) and NonMaxSuppressionCalculator
// (min_suppression_threshold 0.3, IoU, WEIGHTED), mediapipe/modules/face_detection/*.pbtxt (Apache-2.0).
import { FACE_SHORT_RANGE_ANCHORS, type Anchor } from './anchors.ts';

/** FaceDetection is one face in normalised model-input coordinates (0..1, origin top-left): box, score 0..1 and 6 keypoints (right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion). */
export interface FaceDetection {
  xMin: number;
  yMin: number;
  width: number;
  height: number;
  score: number;
  keypoints: { x: number; y: number }[];
}

/** FaceDecodeOptions: score threshold (default 0.5), NMS IoU threshold (default 0.3), NMS kind (default 'weighted', as MediaPipe), coordinate scale in px (default 128). */
export interface FaceDecodeOptions {
  minScore?: number;
  iouThreshold?: number;
  nms?: 'weighted' | 'plain';
  inputScale?: number;
}

const NUM_COORDS = 16;
const NUM_KEYPOINTS = 6;
const SCORE_CLIP = 100;

/** decodeFaceDetections turns raw `regressors` [896 x 16] and `classificators` [896] (logits) into face detections after sigmoid, thresholding and non-maximum suppression, sorted by score; throws if the arrays do not match the anchors. */
export function decodeFaceDetections(
  regressors: Float32Array,
  classificators: Float32Array,
  options: FaceDecodeOptions = {},
  anchors: readonly Anchor[] = FACE_SHORT_RANGE_ANCHORS,
): FaceDetection[] {
  if (regressors.length !== anchors.length * NUM_COORDS || classificators.length !== anchors.length) {
    throw new Error(`expected ${anchors.length} x ${NUM_COORDS} regressors and ${anchors.length} scores, got ${regressors.length} and ${classificators.length}`);
  }
  const minScore = options.minScore ?? 0.5;
  const scale = options.inputScale ?? 128;
  const candidates: FaceDetection[] = [];
  for (let i = 0; i < anchors.length; i++) {
    const logit = Math.min(Math.max(classificators[i]!, -SCORE_CLIP), SCORE_CLIP);
    const score = 1 / (1 + Math.exp(-logit));
    if (score < minScore) continue;
    const a = anchors[i]!;
    const r = regressors.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS);
    const cx = (r[0]! / scale) * a.width + a.xCenter;
    const cy = (r[1]! / scale) * a.height + a.yCenter;
    const w = (r[2]! / scale) * a.width;
    const h = (r[3]! / scale) * a.height;
    const keypoints = [];
    for (let k = 0; k < NUM_KEYPOINTS; k++) {
      keypoints.push({ x: (r[4 + 2 * k]! / scale) * a.width + a.xCenter, y: (r[5 + 2 * k]! / scale) * a.height + a.yCenter });
    }
    candidates.push({ xMin: cx - w / 2, yMin: cy - h / 2, width: w, height: h, score, keypoints });
  }
  return nonMaxSuppression(candidates, options.iouThreshold ?? 0.3, options.nms ?? 'weighted');
}

/** boxIou returns intersection over union of two detections' boxes (0 when either is empty). */
export function boxIou(a: FaceDetection, b: FaceDetection): number {
  const ix = Math.max(0, Math.min(a.xMin + a.width, b.xMin + b.width) - Math.max(a.xMin, b.xMin));
  const iy = Math.max(0, Math.min(a.yMin + a.height, b.yMin + b.height) - Math.max(a.yMin, b.yMin));
  const inter = ix * iy;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** nonMaxSuppression keeps the best detection of each overlapping group (IoU > threshold); 'weighted' replaces its box and keypoints by the score-weighted mean of the group, as MediaPipe's WEIGHTED algorithm does. */
export function nonMaxSuppression(detections: FaceDetection[], iouThreshold: number, kind: 'weighted' | 'plain'): FaceDetection[] {
  let remaining = [...detections].sort((a, b) => b.score - a.score);
  const kept: FaceDetection[] = [];
  while (remaining.length > 0) {
    const best = remaining[0]!;
    const group = remaining.filter((d) => boxIou(best, d) > iouThreshold || d === best);
    remaining = remaining.filter((d) => !group.includes(d));
    if (kind === 'plain' || group.length === 1) {
      kept.push(best);
      continue;
    }
    const total = group.reduce((s, d) => s + d.score, 0);
    const mean = (f: (d: FaceDetection) => number) => group.reduce((s, d) => s + f(d) * d.score, 0) / total;
    const xMin = mean((d) => d.xMin);
    const yMin = mean((d) => d.yMin);
    kept.push({
      xMin,
      yMin,
      width: mean((d) => d.xMin + d.width) - xMin,
      height: mean((d) => d.yMin + d.height) - yMin,
      score: best.score,
      keypoints: best.keypoints.map((_, k) => ({ x: mean((d) => d.keypoints[k]!.x), y: mean((d) => d.keypoints[k]!.y) })),
    });
  }
  return kept;
}
