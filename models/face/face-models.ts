// Per-model settings from MediaPipe's graphs (Apache-2.0):
// mediapipe/modules/face_detection/face_detection_short_range.pbtxt and face_detection_full_range.pbtxt
// (FaceDetectionOptions: tensor_width/height, strides, interpolated_scale_aspect_ratio, num_boxes,
// x/y/w/h_scale, min_score_thresh) and face_detection.pbtxt (ImageToTensorCalculator keep_aspect_ratio
// true, border_mode ZERO, output_tensor_float_range [-1, 1]; NonMaxSuppressionCalculator
// min_suppression_threshold 0.3, INTERSECTION_OVER_UNION, WEIGHTED). The @mediapipe/face_detection
// package's face_detection_{short,full}.binarypb only select the FaceDetectionShortRangeGpu /
// FaceDetectionFullRangeGpu subgraphs, which carry these options.
import type { ModelId } from '../registry.ts';
import { FACE_FULL_RANGE_ANCHORS, FACE_SHORT_RANGE_ANCHORS, type Anchor } from './anchors.ts';
import type { FaceDecodeOptions } from './decode.ts';

/** FaceModelName names a face detector: 'short' (BlazeFace short range, faces within ~2 m, 128x128) or 'full' (BlazeFace full range sparse, faces within ~5 m, 192x192). */
export type FaceModelName = 'short' | 'full';

/** FaceModelSpec is everything needed to run one face detector: registry model id, square input side (px, NHWC [1, s, s, 3], RGB mapped to [-1, 1], letterboxed), its anchors, MediaPipe's decode settings and the ONNX output names. */
export interface FaceModelSpec {
  name: FaceModelName;
  modelId: ModelId;
  inputSize: number;
  anchors: readonly Anchor[];
  decode: FaceDecodeOptions;
  outputNames: { regressors: string; classificators: string };
}

/** FACE_MODELS maps each FaceModelName to its spec: short = 'face-short', 128 px, 896 anchors, min score 0.5; full = 'face-full', 192 px, 2304 anchors, min score 0.6; both IoU 0.3 weighted NMS, inputScale = input side. */
export const FACE_MODELS: Readonly<Record<FaceModelName, FaceModelSpec>> = {
  short: {
    name: 'short',
    modelId: 'face-short',
    inputSize: 128,
    anchors: FACE_SHORT_RANGE_ANCHORS,
    decode: { minScore: 0.5, iouThreshold: 0.3, nms: 'weighted', inputScale: 128 },
    outputNames: { regressors: 'regressors', classificators: 'classificators' },
  },
  full: {
    name: 'full',
    modelId: 'face-full',
    inputSize: 192,
    anchors: FACE_FULL_RANGE_ANCHORS,
    decode: { minScore: 0.6, iouThreshold: 0.3, nms: 'weighted', inputScale: 192 },
    // the TFLite outputs are Identity / Identity_1; the build renames them to match face-short
    outputNames: { regressors: 'regressors', classificators: 'classificators' },
  },
};
