import { permuteData } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';
import { emitConv } from './conv-common.ts';

/** conv2dMapping maps CONV_2D (weights [O, KH, KW, I], optional bias [O]) to ONNX Conv on an NCHW value with explicit pads and the fused activation. */
export const conv2dMapping: OpMapping = (ctx, op) => {
  const [xIndex, wIndex] = op.inputs as [number, number];
  const x = ctx.tensor(xIndex);
  const w = ctx.tensor(wIndex);
  if (x.shape.length !== 4 || w.shape.length !== 4) throw ctx.fail('CONV_2D needs rank-4 input and weights');
  const [outC, kh, kw, inC] = w.shape as [number, number, number, number];
  if (inC !== x.shape[3]) throw ctx.fail(`CONV_2D weights expect ${inC} input channels, input has ${x.shape[3]}`);
  const weights = ctx.graph.addFloatInitializer(w.name, [outC, inC, kh, kw], permuteData(ctx.floatConstant(wIndex, 'CONV_2D weights'), w.shape, [0, 3, 1, 2]));
  emitConv(ctx, op, weights, [kh, kw], [x.shape[1]!, x.shape[2]!], 1);
};
