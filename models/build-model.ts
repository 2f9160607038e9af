import { readFile } from 'node:fs/promises';
import { convertTfliteToOnnx } from './convert/convert-model.ts';
import type { BodyLayout } from './convert/conversion-context.ts';
import { sha256Hex } from './file-sha256.ts';
import { modelEntry, sourceLabel, sourceModelPath, type ModelId } from './registry.ts';
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
    super(`model '${modelId}': source kind '${kind}' is not supported by the converter (only 'tflite')`);
    this.name = 'ModelSourceError';
  }
}

/** buildModelBytes reads the source TFLite of `id` from its npm package and converts it to ONNX bytes with the registry's I/O names; `bodyLayout` defaults to BUILD_BODY_LAYOUT; rejects with ModelSourceError for a non-TFLite source, and on read or conversion errors. */
export async function buildModelBytes(id: ModelId, bodyLayout: BodyLayout = BUILD_BODY_LAYOUT): Promise<BuiltModel> {
  const entry = modelEntry(id);
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
    metadata: { source: sourceLabel(entry.source), source_sha256: sha256Hex(source), licence: entry.licence.spdx, input_normalisation: entry.input.normalisation },
  });
  return { id, sourcePath, sourceSha256: sha256Hex(source), onnx, onnxSha256: sha256Hex(onnx) };
}
