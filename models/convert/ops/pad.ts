import { axisInLayout, type Layout } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';

/** padMapping maps PAD (paddings = constant int32 [rank, 2] of [before, after]) to ONNX Pad with zero fill, in the body layout for rank-4 tensors. */
export const padMapping: OpMapping = (ctx, op) => {
  const [xIndex, padsIndex] = op.inputs as [number, number];
  const rank = ctx.tensor(xIndex).shape.length;
  const flat = ctx.intConstant(padsIndex, 'PAD paddings');
  if (flat.length !== 2 * rank) throw ctx.fail(`PAD paddings has ${flat.length} values for rank ${rank}`);
  const layout: Layout = rank === 4 ? ctx.preferredLayout : 'native';
  const begins = new Array<number>(rank);
  const ends = new Array<number>(rank);
  for (let a = 0; a < rank; a++) {
    const at = rank === 4 ? axisInLayout(a, layout) : a;
    begins[at] = flat[2 * a]!;
    ends[at] = flat[2 * a + 1]!;
  }
  const pads = ctx.graph.addInt64Initializer(`${ctx.tensor(xIndex).name}_pads`, [2 * rank], [...begins, ...ends]);
  ctx.node('Pad', [ctx.input(xIndex, layout), pads], [ctx.output(op.outputs[0]!, layout)], { mode: 'constant' });
};
