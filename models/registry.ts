import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { access } from 'node:fs/promises';
import { PROJECT_ROOT } from '../server/project-root.ts';
import { fileSha256 } from './file-sha256.ts';

/** ModelId names a model the project builds: 'selfie' (256x256 general), 'selfie-landscape' (144x256), 'face-short' (BlazeFace short range, 128x128), 'face-full' (BlazeFace full range sparse, 192x192) and 'face-embed' (dlib's ResNet face descriptor, 150x150 aligned face -> 128-d). */
export type ModelId = 'selfie' | 'selfie-landscape' | 'face-short' | 'face-full' | 'face-embed';

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

/** TfjsNetwork names a network that models/tfjs defines in code for a weights-only source: 'face-api-face-recognition-net' is face-api.js's FaceRecognitionNet (models/tfjs/face-recognition-net.ts). */
export type TfjsNetwork = 'face-api-face-recognition-net';

/** TfjsWeightsModelSource is a TensorFlow.js weights manifest plus binary shards in an installed npm package whose network is defined in code (face-api.js style); models/tfjs reads the weights and writes `network` as ONNX; `files` pins the manifest and every shard by SHA-256. */
export interface TfjsWeightsModelSource {
  kind: 'tfjs-weights';
  package: string;
  /** path of the weights manifest (`*-weights_manifest.json`) inside the package */
  manifest: string;
  /** SHA-256 of the manifest and of each weight shard, by path inside the package */
  files: Readonly<Record<string, string>>;
  network: TfjsNetwork;
}

/** ModelSource is where a model's weights come from, discriminated by `kind`. */
export type ModelSource = TfliteModelSource | TfjsGraphModelSource | TfjsWeightsModelSource;

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

/** DLIB_FACE_API_MIT is the licence chain of dlib's face recognition ResNet as shipped, uint8-quantised for tfjs, in @vladmandic/face-api (checked against the package's files and the upstream repositories they name). */
export const DLIB_FACE_API_MIT: ModelLicence = {
  spdx: 'MIT',
  holder:
    "weights trained by Davis King (dlib_face_recognition_resnet_model_v1), released by him into the public domain; ported to tfjs and uint8-quantised for face-api.js by Vincent Mühler (face-api.js: MIT, Copyright (c) 2018 Vincent Mühler; the face-api.js-models repository states no licence of its own); packaged by Vladimir Mandic in @vladmandic/face-api (MIT)",
  text: 'node_modules/@vladmandic/face-api/LICENSE (MIT, "Copyright (c) Vladimir Mandic") and its package.json "license": "MIT"; the package names the weights\' origin in README.md ("Original model weighs: face-api.js-models") and TUTORIAL.md ("The weights have been trained by davisking", 99.38% on LFW) but carries no licence of the weights themselves; the public-domain statement is in https://github.com/davisking/dlib-models README ("anyone can do whatever they want with these model files as I\'ve released them into the public domain")',
  note: "dlib-models: trained from scratch on about 3 million faces of 7485 identities (FaceScrub, VGG Face and images scraped from the internet; LFW identities left out); 99.38% on LFW for dlib's float model, not measured for the uint8 tfjs weights. dlib does not restate the datasets' own terms. The built ONNX is a format conversion (uint8 -> float32, face-api's network written out as ONNX) and records the SPDX id and this holder line in its metadata; keep the MIT notice with it",
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
  'face-embed': {
    id: 'face-embed',
    source: {
      kind: 'tfjs-weights',
      package: '@vladmandic/face-api',
      manifest: 'model/face_recognition_model-weights_manifest.json',
      files: {
        'model/face_recognition_model-weights_manifest.json': 'cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b',
        'model/face_recognition_model.bin': 'b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589',
      },
      network: 'face-api-face-recognition-net',
    },
    onnxFile: 'face-embed.onnx',
    onnxSha256: 'bbd963658c1c02ca56a483301fa201dbaf8a72398dce9ac3d6afa3ea04af5da9',
    input: {
      name: 'input',
      shape: [1, 150, 150, 3],
      layout: 'NHWC',
      normalisation: "RGB 0..255 as is (the graph subtracts face-api's mean RGB 122.782, 117.001, 104.298 and divides by 255); a face aligned to DLIB_CHIP_150 with models/face/align-face.ts",
      range: [0, 255],
      meaning: 'aligned face chip',
    },
    outputs: [
      {
        name: 'descriptor',
        shape: [1, 128],
        meaning: "dlib's face descriptor, not normalised (norm 1.27..1.55 on the shared clips' faces); models/face/face-embedder.ts L2-normalises it for cosine similarity; dlib compares raw descriptors by Euclidean distance (same person below 0.6)",
      },
    ],
    licence: DLIB_FACE_API_MIT,
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

function sourceMainFile(source: ModelSource): string {
  if (source.kind === 'tflite') return source.file;
  return source.kind === 'tfjs-graph' ? source.modelJson : source.manifest;
}

/** sourcePackageDir returns the absolute path of the installed npm package that holds the source of `id`. */
export function sourcePackageDir(id: ModelId): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`${modelEntry(id).source.package}/package.json`));
}

/** sourceModelPath returns the absolute path of the source file of `id` inside its installed npm package (the TFLite file, model.json of a tfjs graph model, or the weights manifest of a tfjs weights source). */
export function sourceModelPath(id: ModelId): string {
  return join(sourcePackageDir(id), sourceMainFile(modelEntry(id).source));
}

/** sourceFileHashes lists every pinned source file of `id` as { path (absolute), sha256 }: the TFLite file, or the tfjs manifest / model.json and each weight shard. */
export function sourceFileHashes(id: ModelId): { path: string; sha256: string }[] {
  const { source } = modelEntry(id);
  const dir = sourcePackageDir(id);
  if (source.kind === 'tflite') return [{ path: join(dir, source.file), sha256: source.sha256 }];
  return Object.entries(source.files).map(([file, sha256]) => ({ path: join(dir, file), sha256 }));
}

/** sourceLabel names a model source for messages and ONNX metadata: `<package>/<file>`. */
export function sourceLabel(source: ModelSource): string {
  return `${source.package}/${sourceMainFile(source)}`;
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
