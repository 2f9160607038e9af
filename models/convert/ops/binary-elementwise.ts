import type { FusedActivation } from '../../tflite/tflite-schema.ts';
import type { Layout } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';

function binaryMapping(onnxOp: 'Add' | 'Mul'): OpMapping {
  return (ctx, op) => {
    const [aIndex, bIndex] = op.inputs as [number, number];
    const outRank = ctx.tensor(op.outputs[0]!).shape.length;
    const rank4 = outRank === 4 && [aIndex, bIndex].every((i) => ctx.tensor(i).shape.length === 4 || ctx.isConstant(i));
    const layout: Layout = rank4 ? ctx.preferredLayout : 'native';
    const activation = (op.options as { activation?: FusedActivation }).activation ?? 'NONE';
    ctx.emitWithActivation(onnxOp, [ctx.broadcastInput(aIndex, layout), ctx.broadcastInput(bIndex, layout)], op.outputs[0]!, layout, activation);
  };
}

/** addMapping maps ADD (numpy broadcasting, fused activation) to ONNX Add in the body layout. */
export const addMapping: OpMapping = binaryMapping('Add');

/** mulMapping maps MUL (numpy broadcasting, fused activation) to ONNX Mul in the body layout. */
export const mulMapping: OpMapping = binaryMapping('Mul');
