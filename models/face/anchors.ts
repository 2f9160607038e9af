// Anchor parameters from MediaPipe face_detection_short_range and face_detection_full_range
// (mediapipe/modules/face_detection/face_detection_{short,full}_range.pbtxt, FaceDetectionOptions
// feeding SsdAnchorsCalculatorOptions); algorithm as in
// mediapipe/calculators/tflite/ssd_anchors_calculator.cc (Apache-2.0).

/** Anchor is one SSD anchor: centre and size in normalised input coordinates (0..1). */
export interface Anchor {
  xCenter: number;
  yCenter: number;
  width: number;
  height: number;
}

/** SsdAnchorOptions is the subset of MediaPipe's SsdAnchorsCalculatorOptions needed with fixed anchor size. */
export interface SsdAnchorOptions {
  inputWidth: number;
  inputHeight: number;
  strides: number[];
  /** anchors per cell contributed by each layer (aspect ratios plus the interpolated scale) */
  anchorsPerLayer: number;
  anchorOffsetX: number;
  anchorOffsetY: number;
}

/** FACE_SHORT_RANGE_ANCHOR_OPTIONS: 128x128 input, strides [8, 16, 16, 16], aspect_ratios [1.0] + interpolated_scale_aspect_ratio 1.0 (2 anchors per layer per cell), offset 0.5, fixed_anchor_size true. */
export const FACE_SHORT_RANGE_ANCHOR_OPTIONS: SsdAnchorOptions = {
  inputWidth: 128,
  inputHeight: 128,
  strides: [8, 16, 16, 16],
  anchorsPerLayer: 2,
  anchorOffsetX: 0.5,
  anchorOffsetY: 0.5,
};

/** FACE_FULL_RANGE_ANCHOR_OPTIONS: 192x192 input, num_layers 1, strides [4], aspect_ratios [1.0] with interpolated_scale_aspect_ratio 0.0 (no extra anchor, so 1 anchor per cell), offset 0.5, fixed_anchor_size true. */
export const FACE_FULL_RANGE_ANCHOR_OPTIONS: SsdAnchorOptions = {
  inputWidth: 192,
  inputHeight: 192,
  strides: [4],
  anchorsPerLayer: 1,
  anchorOffsetX: 0.5,
  anchorOffsetY: 0.5,
};

/** generateSsdAnchors builds MediaPipe SSD anchors with fixed size 1x1: consecutive layers of equal stride share one grid (cells row-major, anchors innermost); short-range options give 16x16x2 + 8x8x6 = 896 anchors, full-range options 48x48x1 = 2304. */
export function generateSsdAnchors(options: SsdAnchorOptions = FACE_SHORT_RANGE_ANCHOR_OPTIONS): Anchor[] {
  const anchors: Anchor[] = [];
  let layer = 0;
  while (layer < options.strides.length) {
    const stride = options.strides[layer]!;
    let last = layer;
    while (last < options.strides.length && options.strides[last] === stride) last++;
    const perCell = (last - layer) * options.anchorsPerLayer;
    const rows = Math.ceil(options.inputHeight / stride);
    const cols = Math.ceil(options.inputWidth / stride);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        for (let a = 0; a < perCell; a++) {
          anchors.push({ xCenter: (x + options.anchorOffsetX) / cols, yCenter: (y + options.anchorOffsetY) / rows, width: 1, height: 1 });
        }
      }
    }
    layer = last;
  }
  return anchors;
}

/** FACE_SHORT_RANGE_ANCHORS are the 896 anchors matching the face-short model's `regressors` / `classificators` rows. */
export const FACE_SHORT_RANGE_ANCHORS: readonly Anchor[] = generateSsdAnchors();

/** FACE_FULL_RANGE_ANCHORS are the 2304 anchors (48x48 grid, stride 4 px of the 192-px input) matching the face-full model's output rows. */
export const FACE_FULL_RANGE_ANCHORS: readonly Anchor[] = generateSsdAnchors(FACE_FULL_RANGE_ANCHOR_OPTIONS);
