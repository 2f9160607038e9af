import type { OpMapping } from '../op-mapping.ts';

/** reshapeMapping maps RESHAPE to ONNX Reshape on the native (NHWC) value, using the output tensor's static shape so that -1 and the shape input need no evaluation. */
export const reshapeMapping: OpMapping = (ctx, op) => {
  const xIndex = op.inputs[0]!;
  const outShape = ctx.tensor(op.outputs[0]!).shape;
  const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
  if (outShape.some((d) => d < 0) || count(outShape) !== count(ctx.tensor(xIndex).shape)) throw ctx.fail(`RESHAPE output shape [${outShape}] is not static or does not match the input size`);
  const shape = ctx.graph.addInt64Initializer(`${ctx.tensor(op.outputs[0]!).name}_shape`, [outShape.length], outShape);
  ctx.node('Reshape', [ctx.input(xIndex, 'native'), shape], [ctx.output(op.outputs[0]!, 'native')]);
};
