import type { FusedActivation } from '../../tflite/tflite-schema.ts';
import { axisInLayout, type Layout } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';

/** concatenationMapping maps CONCATENATION (axis, may be negative; fused activation) to ONNX Concat, in the body layout when all inputs are rank 4. */
export const concatenationMapping: OpMapping = (ctx, op) => {
  const o = op.options as { axis?: number; activation?: FusedActivation };
  const rank = ctx.tensor(op.outputs[0]!).shape.length;
  const axis = (o.axis ?? 0) < 0 ? (o.axis ?? 0) + rank : (o.axis ?? 0);
  const layout: Layout = rank === 4 ? ctx.preferredLayout : 'native';
  const inputs = op.inputs.map((i) => ctx.input(i, layout));
  ctx.emitWithActivation('Concat', inputs, op.outputs[0]!, layout, o.activation ?? 'NONE', { axis: rank === 4 ? axisInLayout(axis, layout) : axis });
};
