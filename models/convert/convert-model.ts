import { OnnxGraphBuilder } from '../onnx/onnx-graph-builder.ts';
import type { TfliteModel } from '../tflite/tflite-model.ts';
import { ConversionContext, type BodyLayout } from './conversion-context.ts';
import { OP_TABLE } from './op-table.ts';

/** ConvertOptions controls graph naming and layout: input/output names replace the TFLite ones in order (defaults keep them), bodyLayout defaults to 'nchw'. */
export interface ConvertOptions {
  inputNames?: string[];
  outputNames?: string[];
  bodyLayout?: BodyLayout;
  graphName?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/** convertTfliteToOnnx converts the model's float32 graph to ONNX ModelProto bytes (opset 17) with NHWC float32 inputs and outputs; the output is byte-identical for identical input; throws ConversionError (ERR_TFLITE_UNSUPPORTED_OP naming the op, operator index and file) on unsupported ops. */
export function convertTfliteToOnnx(model: TfliteModel, options: ConvertOptions = {}): Uint8Array {
  const graph = new OnnxGraphBuilder();
  const ctx = new ConversionContext(model, graph, options.bodyLayout ?? 'nchw');
  const inputNames = model.inputs.map((t, i) => options.inputNames?.[i] ?? model.tensors[t]!.name);
  const outputNames = model.outputs.map((t, i) => options.outputNames?.[i] ?? model.tensors[t]!.name);
  model.inputs.forEach((t, i) => ctx.defineInput(t, inputNames[i]!));
  model.outputs.forEach((t, i) => ctx.nameFinal(t, outputNames[i]!));

  model.operators.forEach((op, index) => {
    ctx.begin(index, op);
    const mapping = OP_TABLE[op.opName];
    if (!mapping) throw ctx.fail(`op ${op.opName} is not supported by the converter`, 'ERR_TFLITE_UNSUPPORTED_OP');
    mapping(ctx, op);
  });

  model.outputs.forEach((t) => ctx.input(t, 'native'));
  const spec = (names: string[], tensors: number[]) => names.map((name, i) => ({ name, shape: model.tensors[tensors[i]!]!.shape }));
  const encodeSpec: Parameters<OnnxGraphBuilder['encode']>[0] = {
    graphName: options.graphName ?? 'tflite',
    inputs: spec(inputNames, model.inputs),
    outputs: spec(outputNames, model.outputs),
  };
  if (options.docString !== undefined) encodeSpec.docString = options.docString;
  if (options.metadata !== undefined) encodeSpec.metadata = options.metadata;
  return graph.encode(encodeSpec);
}
