import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import type { BodyLayout } from '../../../models/convert/conversion-context.ts';
import { convertTfliteToOnnx } from '../../../models/convert/convert-model.ts';
import type { BuiltinOptions } from '../../../models/tflite/builtin-options.ts';
import type { TfliteModel } from '../../../models/tflite/tflite-model.ts';
import { createCpuSession } from '../../../models/runtime/ort-session.ts';

/** TestTensor describes a tensor of a hand-built TFLite-like model: activations have no data; constants carry float32, int32 or raw (e.g. float16) bytes. */
export interface TestTensor {
  shape: number[];
  type?: 'FLOAT32' | 'FLOAT16' | 'INT32';
  data?: Float32Array | Int32Array | Uint8Array;
}

/** TestOp is one operator of a hand-built model; input index -1 means an omitted optional input. */
export interface TestOp {
  opName: string;
  inputs: number[];
  outputs: number[];
  options?: BuiltinOptions;
  customOptions?: Uint8Array;
}

/** testModel builds an in-memory TfliteModel (graph inputs = tensors without data, except those produced by an op; graph outputs = `outputs`). */
export function testModel(tensors: TestTensor[], ops: TestOp[], outputs: number[], source = 'test-model.tflite'): TfliteModel {
  const produced = new Set(ops.flatMap((o) => o.outputs));
  return {
    source,
    tensors: tensors.map((t, i) => {
      const tensor: TfliteModel['tensors'][number] = { name: `t${i}`, shape: t.shape, type: t.type ?? 'FLOAT32' };
      if (t.data) tensor.data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      return tensor;
    }),
    operators: ops.map((o) => {
      const op: TfliteModel['operators'][number] = { opName: o.opName, inputs: o.inputs, outputs: o.outputs, options: o.options ?? {} };
      if (o.customOptions) op.customOptions = o.customOptions;
      return op;
    }),
    inputs: tensors.map((t, i) => i).filter((i) => !tensors[i]!.data && !produced.has(i)),
    outputs,
  };
}

/** runConverted converts `model` with the given body layout and runs it once on ONNX Runtime CPU with `feeds` (one per graph input, in order); resolves to the first output's data and dims. */
export async function runConverted(model: TfliteModel, feeds: Float32Array[], bodyLayout: BodyLayout): Promise<{ data: Float32Array; dims: number[] }> {
  const session = await createCpuSession(convertTfliteToOnnx(model, { bodyLayout }));
  try {
    const inputs: Record<string, ort.Tensor> = {};
    model.inputs.forEach((t, i) => (inputs[model.tensors[t]!.name] = new ort.Tensor('float32', feeds[i]!, model.tensors[t]!.shape)));
    const out = (await session.run(inputs))[session.outputNames[0]!]!;
    return { data: out.data as Float32Array, dims: [...out.dims] };
  } finally {
    await session.release();
  }
}

/** BODY_LAYOUTS lists both converter body layouts so every op test covers both. */
export const BODY_LAYOUTS: BodyLayout[] = ['nchw', 'nhwc'];

/** assertClose fails with the first mismatching index when |actual - expected| > tol x max(1, |expected|) or the shapes differ. */
export function assertClose(actual: { data: Float32Array; dims: number[] }, expected: { data: Float32Array; shape: number[] }, tol = 1e-4): void {
  assert.deepEqual(actual.dims, expected.shape, 'output shape');
  assert.equal(actual.data.length, expected.data.length);
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i]!;
    const a = actual.data[i]!;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) assert.fail(`index ${i}: got ${a}, expected ${e}`);
  }
}
