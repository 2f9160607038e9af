/**
 * The face-embed model at run time (one per worker thread in the pool): a 150x150 RGB chip aligned by
 * align-face.ts goes in as raw 0..255 values (the graph subtracts face-api's mean RGB and divides by
 * 255), dlib's 128-d descriptor comes out and is L2-normalised here, so that the cosine similarity of
 * two embeddings is their dot product.
 */
import * as ort from 'onnxruntime-node';
import { MODEL_REGISTRY, verifyModelFile } from '../registry.ts';
import { createCpuSession } from '../runtime/ort-session.ts';
import type { RgbImage } from '../segmentation/rgb-image.ts';
import { chipToTensor } from './align-face.ts';

const ENTRY = MODEL_REGISTRY['face-embed'];
const [, CHIP_SIZE] = ENTRY.input.shape as [number, number, number, number];

/** FACE_EMBEDDING_LENGTH is the length of a face embedding (dlib's 128-d descriptor). */
export const FACE_EMBEDDING_LENGTH = ENTRY.outputs[0]!.shape[1]!;

/** EmbeddingRunner is what the embedder needs of a model: an onnxruntime-node session, or the pool's ModelRunner (plugins/plugin-api.ts) for 'face-embed'. */
export interface EmbeddingRunner {
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
}

/** FaceEmbeddingError (code ERR_FACE_EMBEDDING, category inference, not fatal) is a chip of the wrong size or a model whose output is not the registry's float32 [1, 128] 'descriptor'. */
export class FaceEmbeddingError extends Error {
  readonly code = 'ERR_FACE_EMBEDDING';
  readonly category = 'inference';
  readonly fatal = false;
  constructor(message: string) {
    super(message);
    this.name = 'FaceEmbeddingError';
  }
}

/** FaceEmbedder turns aligned face chips into embeddings with one face-embed model; it holds no state between calls, so one instance serves every stream of a thread. */
export class FaceEmbedder {
  constructor(
    readonly runner: EmbeddingRunner,
    private readonly release?: () => Promise<void>,
  ) {}

  /**
   * descriptor runs the model on `chip` (150x150 RGB, from alignDetectedFace / alignFace with
   * DLIB_CHIP_150) and resolves to dlib's raw descriptor, Float32Array(128), not normalised (dlib
   * compares these with Euclidean distance, same person below 0.6); rejects with FaceEmbeddingError
   * for another chip size or a model without the registry's output.
   */
  async descriptor(chip: RgbImage): Promise<Float32Array> {
    if (chip.width !== CHIP_SIZE || chip.height !== CHIP_SIZE || chip.channels !== 3) {
      throw new FaceEmbeddingError(`face chip is ${chip.width}x${chip.height}x${chip.channels}, the face-embed model takes ${CHIP_SIZE}x${CHIP_SIZE}x3 (align it with models/face/align-face.ts)`);
    }
    const out = await this.runner.run({ [ENTRY.input.name]: new ort.Tensor('float32', chipToTensor(chip), ENTRY.input.shape) });
    const name = ENTRY.outputs[0]!.name;
    const tensor = out[name];
    if (tensor?.type !== 'float32' || tensor.data.length !== FACE_EMBEDDING_LENGTH) {
      throw new FaceEmbeddingError(`face-embed model has no float32 output '${name}' of ${FACE_EMBEDDING_LENGTH} values (got ${Object.keys(out).join(', ') || 'none'})`);
    }
    return Float32Array.from(tensor.data as Float32Array);
  }

  /** embed resolves to the L2-normalised descriptor of `chip` (Float32Array(128), norm 1; all zeros only if the model returned zeros); rejects as descriptor does. */
  async embed(chip: RgbImage): Promise<Float32Array> {
    return l2Normalise(await this.descriptor(chip));
  }

  /** close releases the session when this embedder opened it (openFaceEmbedder); a runner passed in by the pool is left to the pool. */
  async close(): Promise<void> {
    await this.release?.();
  }
}

/** openFaceEmbedder verifies models/build/face-embed.onnx (or the one in `buildDir`) against the registry and opens it on the CPU with 1 intra-op thread; rejects with ModelFileError (ERR_MODEL_MISSING / ERR_MODEL_CORRUPT) when it is absent or stale. */
export async function openFaceEmbedder(buildDir?: string): Promise<FaceEmbedder> {
  const session = await createCpuSession(await verifyModelFile('face-embed', buildDir));
  return new FaceEmbedder(session, () => session.release());
}

/** l2Normalise returns a copy of `v` scaled to unit Euclidean norm (a zero vector stays zero). */
export function l2Normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return norm > 0 ? v.map((x) => x / norm) : Float32Array.from(v);
}

/** cosineSimilarity is the cosine of the angle between two vectors of the same length, -1..1 (0 when either is zero); for embeddings from FaceEmbedder.embed it equals their dot product. Throws RangeError on different lengths. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`cosineSimilarity: lengths ${a.length} and ${b.length} differ`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
