// Reader for TensorFlow.js weight manifests (`*-weights_manifest.json` plus binary shards), the format
// face-api.js and tfjs `tf.io` use for weights whose network is defined in code. Dequantisation follows
// tfjs-core src/io/io_utils.ts `decodeWeights` (Apache-2.0): uint8/uint16 affine `q * scale + min`,
// computed in double and stored as float32; float16 decoded bit-exactly.
import { float16ToFloat32 } from '../tflite/tensor-data.ts';

/** TfjsWeightQuantization is a manifest entry's quantisation: affine uint8/uint16 (`q * scale + min`) or float16. */
export type TfjsWeightQuantization = { dtype: 'uint8' | 'uint16'; scale: number; min: number } | { dtype: 'float16' };

/** TfjsWeightEntry is one weight of a manifest group: name, shape, stored dtype (only float32 is supported) and optional quantisation. */
export interface TfjsWeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: TfjsWeightQuantization;
}

/** TfjsWeightsManifest is the parsed manifest: groups, each with the shard file names (relative to the manifest) and the weights laid out back to back across those shards. */
export type TfjsWeightsManifest = { paths: string[]; weights: TfjsWeightEntry[] }[];

/** WeightTensor is a decoded float32 weight with its tfjs shape (conv filters are HWIO, [kh, kw, in, out]). */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

/** TfjsWeightsError (code ERR_TFJS_WEIGHTS, category config, fatal) names the manifest and the weight that could not be read. */
export class TfjsWeightsError extends Error {
  readonly code = 'ERR_TFJS_WEIGHTS';
  readonly category = 'config';
  readonly fatal = true;
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'TfjsWeightsError';
  }
}

/** parseTfjsWeightsManifest parses and checks manifest JSON text; throws TfjsWeightsError naming `source` when it is not an array of { paths: string[], weights: [{ name, shape, dtype }] }. */
export function parseTfjsWeightsManifest(json: string, source: string): TfjsWeightsManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new TfjsWeightsError(source, `manifest is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!Array.isArray(parsed)) throw new TfjsWeightsError(source, 'manifest is not an array of weight groups');
  for (const [g, group] of parsed.entries()) {
    const ok =
      typeof group === 'object' &&
      group !== null &&
      Array.isArray(group.paths) &&
      group.paths.every((p: unknown) => typeof p === 'string') &&
      Array.isArray(group.weights) &&
      group.weights.every((w: unknown) => typeof w === 'object' && w !== null && typeof (w as TfjsWeightEntry).name === 'string' && Array.isArray((w as TfjsWeightEntry).shape));
    if (!ok) throw new TfjsWeightsError(source, `weight group ${g} needs "paths" (strings) and "weights" ({ name, shape, dtype })`);
  }
  return parsed as TfjsWeightsManifest;
}

const STORED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2, float32: 4 };

/**
 * decodeTfjsWeights decodes every weight of `manifest` from its shards (`shards(path)` returns the bytes
 * of a shard named in `paths`; a group's shards are concatenated as tfjs does) to float32, by name.
 * Throws TfjsWeightsError for a non-float32 weight, an unknown quantisation, a duplicate name, or
 * shards shorter or longer than the weights need.
 */
export function decodeTfjsWeights(manifest: TfjsWeightsManifest, shards: (path: string) => Uint8Array, source: string): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const group of manifest) {
    const parts = group.paths.map(shards);
    const buffer = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      buffer.set(p, at);
      at += p.byteLength;
    }
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32') throw new TfjsWeightsError(source, `weight '${w.name}' has dtype ${w.dtype}; only float32 weights are supported`);
      if (out.has(w.name)) throw new TfjsWeightsError(source, `weight '${w.name}' appears twice`);
      const size = w.shape.reduce((a, b) => a * b, 1);
      const stored = w.quantization?.dtype ?? 'float32';
      const bytesPer = STORED_BYTES[stored];
      if (bytesPer === undefined) throw new TfjsWeightsError(source, `weight '${w.name}' has unsupported quantization dtype ${stored}`);
      const byteLength = size * bytesPer;
      if (offset + byteLength > buffer.byteLength) {
        throw new TfjsWeightsError(source, `weight '${w.name}' needs bytes ${offset}..${offset + byteLength} but the shards hold ${buffer.byteLength}`);
      }
      const bytes = buffer.slice(offset, offset + byteLength);
      offset += byteLength;
      out.set(w.name, { shape: [...w.shape], data: decodeOne(bytes, w.quantization, size) });
    }
    if (offset !== buffer.byteLength) throw new TfjsWeightsError(source, `shards ${group.paths.join(', ')} hold ${buffer.byteLength} bytes, the weights use ${offset}`);
  }
  return out;
}

function decodeOne(bytes: Uint8Array, q: TfjsWeightQuantization | undefined, size: number): Float32Array {
  if (q === undefined) return new Float32Array(bytes.buffer, bytes.byteOffset, size);
  if (q.dtype === 'float16') return float16ToFloat32(bytes);
  const quantized = q.dtype === 'uint8' ? bytes : new Uint16Array(bytes.buffer, bytes.byteOffset, size);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = quantized[i]! * q.scale + q.min;
  return values;
}
