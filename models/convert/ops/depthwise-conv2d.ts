import type { ConvOptions } from '../../tflite/builtin-options.ts';
import { permuteData } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';
import { emitConv } from './conv-common.ts';

/** depthwiseConv2dMapping maps DEPTHWISE_CONV_2D (weights [1, KH, KW, C * M]) to a grouped ONNX Conv (group = C, weights [C * M, 1, KH, KW]) with explicit pads and the fused activation. */
export const depthwiseConv2dMapping: OpMapping = (ctx, op) => {
  const o = op.options as ConvOptions;
  const [xIndex, wIndex] = op.inputs as [number, number];
  const x = ctx.tensor(xIndex);
  const w = ctx.tensor(wIndex);
  if (x.shape.length !== 4 || w.shape.length !== 4 || w.shape[0] !== 1) throw ctx.fail('DEPTHWISE_CONV_2D needs rank-4 input and weights [1, KH, KW, C*M]');
  const [, kh, kw, outC] = w.shape as [number, number, number, number];
  const inC = x.shape[3]!;
  if (outC !== inC * o.depthMultiplier) throw ctx.fail(`DEPTHWISE_CONV_2D has ${outC} output channels, expected ${inC} x ${o.depthMultiplier}`);
  const weights = ctx.graph.addFloatInitializer(w.name, [outC, 1, kh, kw], permuteData(ctx.floatConstant(wIndex, 'DEPTHWISE_CONV_2D weights'), w.shape, [3, 0, 1, 2]));
  emitConv(ctx, op, weights, [kh, kw], [x.shape[1]!, x.shape[2]!], inC);
};
