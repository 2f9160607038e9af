import { axisInLayout, type Layout } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';

/** meanMapping maps MEAN (axes from a constant int32 tensor, keep_dims option) to ONNX ReduceMean (opset 17, axes attribute) in the body layout, or GlobalAveragePool for an NCHW mean over H and W. */
export const meanMapping: OpMapping = (ctx, op) => {
  const [xIndex, axesIndex] = op.inputs as [number, number];
  const x = ctx.tensor(xIndex);
  const rank = x.shape.length;
  const keepDims = (op.options as { keepDims?: boolean }).keepDims ?? false;
  const axes = [...new Set(ctx.intConstant(axesIndex, 'MEAN axes').map((a) => (a < 0 ? a + rank : a)))].sort();
  const layout: Layout = rank === 4 && keepDims ? ctx.preferredLayout : 'native';
  const input = ctx.input(xIndex, layout);
  const out = ctx.output(op.outputs[0]!, layout);
  if (layout === 'nchw' && axes.join() === '1,2') {
    ctx.node('GlobalAveragePool', [input], [out]);
    return;
  }
  const mapped = rank === 4 ? axes.map((a) => axisInLayout(a, layout)) : axes;
  ctx.node('ReduceMean', [input], [out], { axes: mapped, keepdims: keepDims ? 1 : 0 });
};
