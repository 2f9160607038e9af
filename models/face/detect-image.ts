import * as ort from 'onnxruntime-node';
import { verifyModelFile } from '../registry.ts';
import { createCpuSession } from '../runtime/ort-session.ts';
import type { RgbImage } from '../segmentation/rgb-image.ts';
import { decodeFaceDetections, type FaceDetection } from './decode.ts';
import { FACE_MODELS, type FaceModelName, type FaceModelSpec } from './face-models.ts';
import { mergeTileDetections, planFaceTiles, type FaceTile, type FaceTileMode, type TileDetections } from './face-tiles.ts';
import { letterboxToTensor } from './letterbox-input.ts';

/** FaceImageDetector is an open ONNX Runtime session of one face model with its spec; release it with closeFaceDetector. */
export interface FaceImageDetector {
  spec: FaceModelSpec;
  session: ort.InferenceSession;
}

/** openFaceDetector verifies the built model of `name` (models/build/ or `buildDir`) and opens it on the CPU with 1 intra-op thread; rejects with ModelFileError (ERR_MODEL_MISSING / ERR_MODEL_CORRUPT) when the file is absent or stale. */
export async function openFaceDetector(name: FaceModelName, buildDir?: string): Promise<FaceImageDetector> {
  const spec = FACE_MODELS[name];
  return { spec, session: await createCpuSession(await verifyModelFile(spec.modelId, buildDir)) };
}

/** closeFaceDetector releases the detector's session. */
export async function closeFaceDetector(detector: FaceImageDetector): Promise<void> {
  await detector.session.release();
}

/** DetectImageOptions: score threshold 0..1 (default the model's, MediaPipe's 0.5 short / 0.6 full) and tiling (default 'off', see planFaceTiles). */
export interface DetectImageOptions {
  minScore?: number;
  tiles?: FaceTileMode;
}

/** runFaceModel runs the detector on one NHWC [1, s, s, 3] float32 input in [-1, 1] and decodes it to detections in normalised input coordinates (0..1) with the spec's anchors and decode options, `minScore` overriding the threshold. */
export async function runFaceModel(detector: FaceImageDetector, tensor: Float32Array, minScore?: number): Promise<FaceDetection[]> {
  const { spec, session } = detector;
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', tensor, [1, spec.inputSize, spec.inputSize, 3]) });
  const regressors = out[spec.outputNames.regressors]!.data as Float32Array;
  const classificators = out[spec.outputNames.classificators]!.data as Float32Array;
  return decodeFaceDetections(regressors, classificators, minScore === undefined ? spec.decode : { ...spec.decode, minScore }, spec.anchors);
}

/** cropRgbImage copies the region `tile` (px, inside the image) of an RGB(A) image into a new image with the same channel count. */
export function cropRgbImage(image: RgbImage, tile: Pick<FaceTile, 'x' | 'y' | 'width' | 'height'>): RgbImage {
  const { channels } = image;
  const data = new Uint8Array(tile.width * tile.height * channels);
  for (let y = 0; y < tile.height; y++) {
    const from = ((tile.y + y) * image.width + tile.x) * channels;
    data.set(image.data.subarray(from, from + tile.width * channels), y * tile.width * channels);
  }
  return { data, width: tile.width, height: tile.height, channels };
}

/** detectFacesInImage finds faces in a still image: each planned region (the whole image, plus tiles for `tiles: 'auto'`) is letterboxed to the model input (RGB -> [-1, 1], zero padding, as MediaPipe), run and decoded, and the detections are merged across regions; resolves to detections in image px (xMin, yMin = top-left), sorted by score. */
export async function detectFacesInImage(detector: FaceImageDetector, image: RgbImage, options: DetectImageOptions = {}): Promise<FaceDetection[]> {
  const { spec } = detector;
  const regions: TileDetections[] = [];
  for (const tile of planFaceTiles(image.width, image.height, spec, options.tiles ?? 'off')) {
    const { tensor, letterbox } = letterboxToTensor(tile.whole ? image : cropRgbImage(image, tile), spec.inputSize);
    regions.push({ tile, letterbox, detections: await runFaceModel(detector, tensor, options.minScore) });
  }
  return mergeTileDetections(regions, image.width, image.height, spec.decode.iouThreshold, spec.decode.nms);
}
