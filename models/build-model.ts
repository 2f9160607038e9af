import { readFile } from 'node:fs/promises';
import { convertTfliteToOnnx } from './convert/convert-model.ts';
import type { BodyLayout } from './convert/conversion-context.ts';
import { sha256Hex } from './file-sha256.ts';
import { modelEntry, sourceModelPath, type ModelId } from './registry.ts';
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

/** buildModelBytes reads the source TFLite of `id` from its npm package and converts it to ONNX bytes with the registry's I/O names; `bodyLayout` defaults to BUILD_BODY_LAYOUT; rejects on read or conversion errors. */
export async function buildModelBytes(id: ModelId, bodyLayout: BodyLayout = BUILD_BODY_LAYOUT): Promise<BuiltModel> {
  const entry = modelEntry(id);
  const sourcePath = sourceModelPath(id);
  const source = await readFile(sourcePath);
  const model = readTfliteModel(source, entry.sourceFile);
  const onnx = convertTfliteToOnnx(model, {
    inputNames: [entry.input.name],
    outputNames: entry.outputs.map((o) => o.name),
    bodyLayout,
    graphName: id,
    docString: `${entry.sourcePackage}/${entry.sourceFile} converted to ONNX by live-matte (models/convert). Licence ${entry.licence}.`,
    metadata: { source: `${entry.sourcePackage}/${entry.sourceFile}`, source_sha256: sha256Hex(source), licence: entry.licence, input_normalisation: entry.input.normalisation },
  });
  return { id, sourcePath, sourceSha256: sha256Hex(source), onnx, onnxSha256: sha256Hex(onnx) };
}
