import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { access } from 'node:fs/promises';
import { PROJECT_ROOT } from '../server/project-root.ts';
import { fileSha256 } from './file-sha256.ts';

/** ModelId names a model the project builds: 'selfie' (256x256 general), 'selfie-landscape' (144x256), 'face-short' (BlazeFace short range, 128x128) and 'face-full' (BlazeFace full range sparse, 192x192). */
export type ModelId = 'selfie' | 'selfie-landscape' | 'face-short' | 'face-full';

/** ModelTensorSpec describes one graph input or output: name, static shape, layout and meaning. */
export interface ModelTensorSpec {
  name: string;
  shape: number[];
  meaning: string;
}

/** ModelEntry is everything the rest of the project needs to know about one built model. */
export interface ModelEntry {
  id: ModelId;
  /** npm package that ships the source TFLite file (installed dependency) */
  sourcePackage: string;
  /** file name inside sourcePackage */
  sourceFile: string;
  sourceSha256: string;
  /** file name of the built ONNX inside models/build/ */
  onnxFile: string;
  onnxSha256: string;
  /** the single float32 NHWC input */
  input: ModelTensorSpec & { layout: 'NHWC'; normalisation: string; range: [number, number] };
  outputs: ModelTensorSpec[];
  licence: 'Apache-2.0';
}

/** MODEL_REGISTRY lists every model with its source, pinned SHA-256 of the source TFLite and of the deterministic ONNX build, and its I/O contract. */
export const MODEL_REGISTRY: Readonly<Record<ModelId, ModelEntry>> = {
  selfie: {
    id: 'selfie',
    sourcePackage: '@mediapipe/selfie_segmentation',
    sourceFile: 'selfie_segmentation.tflite',
    sourceSha256: '8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27',
    onnxFile: 'selfie.onnx',
    onnxSha256: '2b244626b62d54f8bbc5f5ae15a7d56535c61181a6926b2424872b542af39963',
    input: {
      name: 'input',
      shape: [1, 256, 256, 3],
      layout: 'NHWC',
      normalisation: 'RGB / 255, the frame stretched to 256x256 with bilinear interpolation (aspect ratio not kept)',
      range: [0, 1],
      meaning: 'RGB frame',
    },
    outputs: [{ name: 'mask', shape: [1, 256, 256, 1], meaning: 'person confidence 0..1 (sigmoid), use as is' }],
    licence: 'Apache-2.0',
  },
  'selfie-landscape': {
    id: 'selfie-landscape',
    sourcePackage: '@mediapipe/selfie_segmentation',
    sourceFile: 'selfie_segmentation_landscape.tflite',
    sourceSha256: '4aafe6223bb8dac6fac8ca8ed56852870a33051ef3f6238822d282a109962894',
    onnxFile: 'selfie-landscape.onnx',
    onnxSha256: 'a0ca1456bc372c77202d62c52237e0934e8a48b32bfc3b8bf966fe7c9a68dda2',
    input: {
      name: 'input',
      shape: [1, 144, 256, 3],
      layout: 'NHWC',
      normalisation: 'RGB / 255, the frame stretched to 256x144 (width x height) with bilinear interpolation',
      range: [0, 1],
      meaning: 'RGB frame',
    },
    outputs: [{ name: 'mask', shape: [1, 144, 256, 1], meaning: 'person confidence 0..1 (sigmoid), use as is' }],
    licence: 'Apache-2.0',
  },
  'face-short': {
    id: 'face-short',
    sourcePackage: '@mediapipe/face_detection',
    sourceFile: 'face_detection_short_range.tflite',
    sourceSha256: '3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633',
    onnxFile: 'face-short.onnx',
    onnxSha256: '9fbe3adff20d15ef71de6ccdf0435b3d619165a4ea721e114036e4cd185d2a38',
    input: {
      name: 'input',
      shape: [1, 128, 128, 3],
      layout: 'NHWC',
      normalisation: 'RGB / 127.5 - 1 (MediaPipe face detection range [-1, 1]), frame letterboxed or stretched to 128x128',
      range: [-1, 1],
      meaning: 'RGB frame',
    },
    outputs: [
      {
        name: 'regressors',
        shape: [1, 896, 16],
        meaning: 'per anchor: box centre dx, dy, w, h then 6 keypoints (x, y), in 128-px input units relative to the anchor; decode with models/face/decode.ts',
      },
      { name: 'classificators', shape: [1, 896, 1], meaning: 'per anchor face score logit (apply sigmoid)' },
    ],
    licence: 'Apache-2.0',
  },
  'face-full': {
    id: 'face-full',
    sourcePackage: '@mediapipe/face_detection',
    sourceFile: 'face_detection_full_range_sparse.tflite',
    sourceSha256: '671dd2f9ed11a78436fc21cc42357a803dfc6f73e9fb86541be942d5716c2dce',
    onnxFile: 'face-full.onnx',
    onnxSha256: '0247a8354a2b60666241b2293923a1a34211c425a07dbbd949d430bd15cc8efe',
    input: {
      name: 'input',
      shape: [1, 192, 192, 3],
      layout: 'NHWC',
      normalisation: 'RGB / 127.5 - 1 (MediaPipe face detection range [-1, 1]), frame letterboxed to 192x192',
      range: [-1, 1],
      meaning: 'RGB frame',
    },
    outputs: [
      {
        name: 'regressors',
        shape: [1, 2304, 16],
        meaning: 'per anchor (48x48 grid): box centre dx, dy, w, h then 6 keypoints (x, y), in 192-px input units relative to the anchor (TFLite name Identity); decode with models/face/decode.ts and FACE_MODELS.full',
      },
      { name: 'classificators', shape: [1, 2304, 1], meaning: 'per anchor face score logit (apply sigmoid; TFLite name Identity_1)' },
    ],
    licence: 'Apache-2.0',
  },
};

/** MODEL_IDS lists every registered model id. */
export const MODEL_IDS = Object.keys(MODEL_REGISTRY) as ModelId[];

/** MODELS_BUILD_DIR is the absolute path of models/build/ (git-ignored), where `npm run build:models` writes the ONNX files. */
export const MODELS_BUILD_DIR = join(PROJECT_ROOT, 'models', 'build');

/** modelEntry returns the registry entry of `id`; throws ERR_MODEL_UNKNOWN for an unregistered id. */
export function modelEntry(id: string): ModelEntry {
  const entry = (MODEL_REGISTRY as Record<string, ModelEntry | undefined>)[id];
  if (!entry) throw new ModelFileError('ERR_MODEL_UNKNOWN', `unknown model id '${id}' (known: ${MODEL_IDS.join(', ')})`, id, '');
  return entry;
}

/** modelPath returns the absolute path of the built ONNX file of `id` in models/build/ (or in `buildDir`); the file may not exist yet, see verifyModelFile. */
export function modelPath(id: ModelId, buildDir: string = MODELS_BUILD_DIR): string {
  return join(buildDir, modelEntry(id).onnxFile);
}

/** sourceModelPath returns the absolute path of the source TFLite file of `id` inside its installed npm package. */
export function sourceModelPath(id: ModelId): string {
  const entry = modelEntry(id);
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve(`${entry.sourcePackage}/package.json`)), entry.sourceFile);
}

/** ModelFileErrorCode: unknown id, built file absent, or built file whose SHA-256 differs from the registry. */
export type ModelFileErrorCode = 'ERR_MODEL_UNKNOWN' | 'ERR_MODEL_MISSING' | 'ERR_MODEL_CORRUPT';

/** ModelFileError is the fatal, config-category error raised when a model can not be used; `path` names the file. */
export class ModelFileError extends Error {
  readonly category = 'config';
  readonly fatal = true;
  constructor(
    readonly code: ModelFileErrorCode,
    message: string,
    readonly modelId: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ModelFileError';
  }
}

/** verifyModelFile resolves to the built ONNX path of `id` (in models/build/ or `buildDir`) after checking it exists and its SHA-256 matches the registry; rejects with ModelFileError ERR_MODEL_MISSING or ERR_MODEL_CORRUPT naming the file and telling the user to run `npm run build:models`. */
export async function verifyModelFile(id: ModelId, buildDir: string = MODELS_BUILD_DIR): Promise<string> {
  const entry = modelEntry(id);
  const path = modelPath(id, buildDir);
  try {
    await access(path);
  } catch {
    throw new ModelFileError('ERR_MODEL_MISSING', `model '${id}' is missing: ${path} does not exist; run \`npm run build:models\``, id, path);
  }
  const actual = await fileSha256(path);
  if (actual !== entry.onnxSha256) {
    throw new ModelFileError(
      'ERR_MODEL_CORRUPT',
      `model '${id}' is corrupt or stale: ${path} has sha256 ${actual}, expected ${entry.onnxSha256}; run \`npm run build:models\``,
      id,
      path,
    );
  }
  return path;
}

/** verifyAllModelFiles checks every registered model with verifyModelFile and resolves to their paths by id; rejects on the first failure. */
export async function verifyAllModelFiles(buildDir: string = MODELS_BUILD_DIR): Promise<Record<ModelId, string>> {
  const paths = {} as Record<ModelId, string>;
  for (const id of MODEL_IDS) paths[id] = await verifyModelFile(id, buildDir);
  return paths;
}
