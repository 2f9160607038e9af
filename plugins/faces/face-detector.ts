/**
 * One detector pass over a frame, in the worker thread: each planned region (the whole frame, and
 * tiles for `tiles: 'auto'`, models/face/face-tiles.ts) is letterboxed to the model input, run,
 * decoded as MediaPipe does (anchors, sigmoid scores, weighted non-maximum suppression, 6
 * keypoints; models/face/decode.ts) and merged across regions in frame px.
 */
import { Tensor } from 'onnxruntime-node';
import type { ModelRunner, YuvFrame } from '../plugin-api.ts';
import { decodeFaceDetections, type FaceDetection } from '../../models/face/decode.ts';
import type { FaceModelSpec } from '../../models/face/face-models.ts';
import { mergeTileDetections, planFaceTiles, type FaceTileMode, type TileDetections } from '../../models/face/face-tiles.ts';
import { regionToLetterboxTensor } from './face-input.ts';

/** DetectorPass is a pass's faces in frame px (xMin, yMin top-left; sorted by score) and its cost. */
export interface DetectorPass {
  faces: FaceDetection[];
  /** Model runs (regions) of the pass. */
  runs: number;
  /** Time building input tensors, ms. */
  preprocessMs: number;
  /** Time in the model, ms. */
  inferenceMs: number;
}

/**
 * detectFrameFaces runs `spec`'s model (opened as `runner`) on `frame` and returns the faces with
 * a score of at least `minScore`.
 * @throws Error when the model's outputs do not have the spec's names and sizes (a wrong or stale
 *   model file); the caller's failure policy then applies.
 */
export async function detectFrameFaces(frame: YuvFrame, spec: FaceModelSpec, runner: ModelRunner, minScore: number, tiles: FaceTileMode): Promise<DetectorPass> {
  const regions: TileDetections[] = [];
  let preprocessMs = 0;
  let inferenceMs = 0;
  const size = spec.inputSize;
  for (const tile of planFaceTiles(frame.width, frame.height, spec, tiles)) {
    const t0 = performance.now();
    const { tensor, letterbox } = regionToLetterboxTensor(frame, tile, size);
    const t1 = performance.now();
    const out = await runner.run({ [runner.inputNames[0]!]: new Tensor('float32', tensor, [1, size, size, 3]) });
    const t2 = performance.now();
    preprocessMs += t1 - t0;
    inferenceMs += t2 - t1;
    const regressors = out[spec.outputNames.regressors];
    const classificators = out[spec.outputNames.classificators];
    if (regressors?.type !== 'float32' || classificators?.type !== 'float32') {
      throw new Error(`face model '${spec.modelId}' has no float32 outputs '${spec.outputNames.regressors}' and '${spec.outputNames.classificators}' (got ${Object.keys(out).join(', ')})`);
    }
    const detections = decodeFaceDetections(regressors.data as Float32Array, classificators.data as Float32Array, { ...spec.decode, minScore }, spec.anchors);
    regions.push({ tile, letterbox, detections });
  }
  const faces = mergeTileDetections(regions, frame.width, frame.height, spec.decode.iouThreshold, spec.decode.nms);
  return { faces, runs: regions.length, preprocessMs, inferenceMs };
}
