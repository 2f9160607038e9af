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

/** TfliteModelSource is a TFLite flatbuffer shipped in an installed npm package, converted by models/convert at install; `sha256` pins the file. */
export interface TfliteModelSource {
  kind: 'tflite';
  /** npm package that ships the file (an installed dependency) */
  package: string;
  /** file name inside the package */
  file: string;
  sha256: string;
}

/** TfjsGraphModelSource is a TensorFlow.js graph model (model.json plus weight shards) in an installed npm package; `files` pins every file by SHA-256; no converter for it exists yet, so registering one makes the build fail with ERR_MODEL_SOURCE_UNSUPPORTED. */
export interface TfjsGraphModelSource {
  kind: 'tfjs-graph';
  package: string;
  /** path of model.json inside the package */
  modelJson: string;
  /** SHA-256 of model.json and of each weight shard, by path inside the package */
  files: Readonly<Record<string, string>>;
}

/** ModelSource is where a model's weights come from, discriminated by `kind`. */
export type ModelSource = TfliteModelSource | TfjsGraphModelSource;

/** ModelLicence is the licence of a model's weights: SPDX id, who holds the weights, where the licence text and terms are, and a note (e.g. model card conditions). */
export interface ModelLicence {
  spdx: string;
  holder: string;
  /** where the licence text is (package field, file, URL) */
  text: string;
  note: string;
}

/** MEDIAPIPE_APACHE_2 is the licence of the models shipped in Google's @mediapipe npm packages. */
export const MEDIAPIPE_APACHE_2: ModelLicence = {
  spdx: 'Apache-2.0',
  holder: 'Google LLC (MediaPipe authors)',
  text: 'the package.json "license" field of the @mediapipe package (no LICENSE file is shipped); full text https://www.apache.org/licenses/LICENSE-2.0, as in https://github.com/google-ai-edge/mediapipe/blob/master/LICENSE',
  note: "MediaPipe's model cards for these models state the same licence and their intended uses and limitations; the built ONNX is a derivative (format conversion, weights unchanged except float16 -> float32 and densified sparse weights) and records the licence in its metadata",
};

/** ModelEntry is everything the rest of the project needs to know about one built model. */
export interface ModelEntry {
  id: ModelId;
  source: ModelSource;
  /** file name of the built ONNX inside models/build/ */
  onnxFile: string;
  onnxSha256: string;
  /** the single float32 NHWC input */
  input: ModelTensorSpec & { layout: 'NHWC'; normalisation: string; range: [number, number] };
  outputs: ModelTensorSpec[];
  licence: ModelLicence;
}

/** MODEL_REGISTRY lists every model with its source (typed by kind, with the pinned SHA-256 of the source file), the pinned SHA-256 of the deterministic ONNX build, its I/O contract and its licence. */
export const MODEL_REGISTRY: Readonly<Record<ModelId, ModelEntry>> = {
  selfie: {
    id: 'selfie',
    source: { kind: 'tflite', package: '@mediapipe/selfie_segmentation', file: 'selfie_segmentation.tflite', sha256: '8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27' },
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
    licence: MEDIAPIPE_APACHE_2,
  },
  'selfie-landscape': {
    id: 'selfie-landscape',
    source: { kind: 'tflite', package: '@mediapipe/selfie_segmentation', file: 'selfie_segmentation_landscape.tflite', sha256: '4aafe6223bb8dac6fac8ca8ed56852870a33051ef3f6238822d282a109962894' },
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
    licence: MEDIAPIPE_APACHE_2,
  },
  'face-short': {
    id: 'face-short',
    source: { kind: 'tflite', package: '@mediapipe/face_detection', file: 'face_detection_short_range.tflite', sha256: '3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633' },
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
    licence: MEDIAPIPE_APACHE_2,
  },
  'face-full': {
    id: 'face-full',
    source: { kind: 'tflite', package: '@mediapipe/face_detection', file: 'face_detection_full_range_sparse.tflite', sha256: '671dd2f9ed11a78436fc21cc42357a803dfc6f73e9fb86541be942d5716c2dce' },
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
    licence: MEDIAPIPE_APACHE_2,
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

/** sourceModelPath returns the absolute path of the source file of `id` inside its installed npm package (the TFLite file, or model.json of a tfjs graph model). */
export function sourceModelPath(id: ModelId): string {
  const { source } = modelEntry(id);
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve(`${source.package}/package.json`)), source.kind === 'tflite' ? source.file : source.modelJson);
}

/** sourceLabel names a model source for messages and ONNX metadata: `<package>/<file>`. */
export function sourceLabel(source: ModelSource): string {
  return `${source.package}/${source.kind === 'tflite' ? source.file : source.modelJson}`;
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
