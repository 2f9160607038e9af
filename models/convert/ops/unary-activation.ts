import type { Layout } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';

function unaryMapping(onnxOp: string): OpMapping {
  return (ctx, op) => {
    const xIndex = op.inputs[0]!;
    const layout: Layout = ctx.tensor(xIndex).shape.length === 4 ? ctx.preferredLayout : 'native';
    ctx.node(onnxOp, [ctx.input(xIndex, layout)], [ctx.output(op.outputs[0]!, layout)]);
  };
}

/** reluMapping maps RELU to ONNX Relu. */
export const reluMapping: OpMapping = unaryMapping('Relu');

/** logisticMapping maps LOGISTIC to ONNX Sigmoid. */
export const logisticMapping: OpMapping = unaryMapping('Sigmoid');

/** hardSwishMapping maps HARD_SWISH (x * relu6(x + 3) / 6) to ONNX HardSwish (opset 14, alpha 1/6, beta 0.5: the same function). */
export const hardSwishMapping: OpMapping = unaryMapping('HardSwish');

/** clippedReluMapping maps RELU6 and RELU_N1_TO_1 to ONNX Clip with constant bounds. */
export const clippedReluMapping: OpMapping = (ctx, op) => {
  const xIndex = op.inputs[0]!;
  const layout: Layout = ctx.tensor(xIndex).shape.length === 4 ? ctx.preferredLayout : 'native';
  ctx.activation(op.opName === 'RELU6' ? 'RELU6' : 'RELU_N1_TO_1', ctx.input(xIndex, layout), ctx.output(op.outputs[0]!, layout));
};
