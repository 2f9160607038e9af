import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { convertTfliteToOnnx } from './convert/convert-model.ts';
import type { BodyLayout } from './convert/conversion-context.ts';
import { sha256Hex } from './file-sha256.ts';
import { modelEntry, sourceLabel, sourceModelPath, type ModelEntry, type ModelId, type TfjsWeightsModelSource } from './registry.ts';
import { buildFaceRecognitionNetOnnx } from './tfjs/face-recognition-net.ts';
import { decodeTfjsWeights, parseTfjsWeightsManifest } from './tfjs/tfjs-weights.ts';
import { readTfliteModel } from './tflite/tflite-reader.ts';

/** BUILD_BODY_LAYOUT is the graph-body layout of built models, chosen by measurement (see models/README.md). */
export const BUILD_BODY_LAYOUT: BodyLayout = 'nchw';

/** BuiltModel is the result of converting one registered model in memory. */
export interface BuiltModel {
  id: ModelId;
  sourcePath: string;
  sourceSha256: string;
  onnx: Uint8Array;
  onnxSha256: string;
}

/** ModelSourceError (code ERR_MODEL_SOURCE_UNSUPPORTED, fatal, config category) is raised when a registered model's source kind has no converter yet. */
export class ModelSourceError extends Error {
  readonly code = 'ERR_MODEL_SOURCE_UNSUPPORTED';
  readonly category = 'config';
  readonly fatal = true;
  constructor(
    readonly modelId: ModelId,
    readonly kind: string,
  ) {
    super(`model '${modelId}': source kind '${kind}' is not supported by the converter (only 'tflite' and 'tfjs-weights')`);
    this.name = 'ModelSourceError';
  }
}

function metadataFor(entry: ModelEntry, sourceSha256: string): Record<string, string> {
  return { source: sourceLabel(entry.source), source_sha256: sourceSha256, licence: entry.licence.spdx, input_normalisation: entry.input.normalisation };
}

// A tfjs weights source: the manifest and its shards from the package, the network from models/tfjs (NCHW body always).
async function buildTfjsWeightsModel(entry: ModelEntry & { source: TfjsWeightsModelSource }): Promise<BuiltModel> {
  const sourcePath = sourceModelPath(entry.id);
  const manifestBytes = await readFile(sourcePath);
  const label = sourceLabel(entry.source);
  const manifest = parseTfjsWeightsManifest(manifestBytes.toString('utf8'), label);
  const weights = decodeTfjsWeights(manifest, (shard) => new Uint8Array(readFileSync(join(dirname(sourcePath), shard))), label);
  const sourceSha256 = sha256Hex(manifestBytes);
  const onnx = buildFaceRecognitionNetOnnx(weights, {
    inputName: entry.input.name,
    outputName: entry.outputs[0]!.name,
    graphName: entry.id,
    docString: `${label} (network ${entry.source.network}) converted to ONNX by live-matte (models/tfjs). Licence ${entry.licence.spdx}.`,
    metadata: { ...metadataFor(entry, sourceSha256), network: entry.source.network, licence_holder: entry.licence.holder },
  });
  return { id: entry.id, sourcePath, sourceSha256, onnx, onnxSha256: sha256Hex(onnx) };
}

/** buildModelBytes reads the source of `id` from its npm package and converts it to ONNX bytes with the registry's I/O names: a TFLite file through models/convert (`bodyLayout` defaults to BUILD_BODY_LAYOUT), a tfjs weights manifest through the network it names in models/tfjs (always NCHW); rejects with ModelSourceError for a tfjs graph model, and on read or conversion errors. */
export async function buildModelBytes(id: ModelId, bodyLayout: BodyLayout = BUILD_BODY_LAYOUT): Promise<BuiltModel> {
  const entry = modelEntry(id);
  if (entry.source.kind === 'tfjs-weights') return buildTfjsWeightsModel({ ...entry, source: entry.source });
  if (entry.source.kind !== 'tflite') throw new ModelSourceError(id, entry.source.kind);
  const sourcePath = sourceModelPath(id);
  const source = await readFile(sourcePath);
  const model = readTfliteModel(source, entry.source.file);
  const onnx = convertTfliteToOnnx(model, {
    inputNames: [entry.input.name],
    outputNames: entry.outputs.map((o) => o.name),
    bodyLayout,
    graphName: id,
    docString: `${sourceLabel(entry.source)} converted to ONNX by live-matte (models/convert). Licence ${entry.licence.spdx}.`,
    metadata: metadataFor(entry, sha256Hex(source)),
  });
  return { id, sourcePath, sourceSha256: sha256Hex(source), onnx, onnxSha256: sha256Hex(onnx) };
}
