import type { ConvOptions } from '../../tflite/builtin-options.ts';
import { permuteData } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';
import { onnxPads2d } from '../same-padding.ts';

/** conv2dMapping maps CONV_2D (weights [O, KH, KW, I], optional bias [O]) to ONNX Conv on an NCHW value with explicit pads and the fused activation. */
export const conv2dMapping: OpMapping = (ctx, op) => {
  const o = op.options as ConvOptions;
  const [xIndex, wIndex, bIndex] = op.inputs as [number, number, number?];
  const x = ctx.tensor(xIndex);
  const w = ctx.tensor(wIndex);
  if (x.shape.length !== 4 || w.shape.length !== 4) throw ctx.fail('CONV_2D needs rank-4 input and weights');
  const [outC, kh, kw, inC] = w.shape as [number, number, number, number];
  if (inC !== x.shape[3]) throw ctx.fail(`CONV_2D weights expect ${inC} input channels, input has ${x.shape[3]}`);
  const weights = ctx.graph.addFloatInitializer(w.name, [outC, inC, kh, kw], permuteData(ctx.floatConstant(wIndex, 'CONV_2D weights'), w.shape, [0, 3, 1, 2]));
  const inputs = [ctx.input(xIndex, 'nchw'), weights];
  if (bIndex !== undefined && bIndex >= 0) inputs.push(ctx.input(bIndex, 'native'));
  ctx.emitWithActivation('Conv', inputs, op.outputs[0]!, 'nchw', o.activation, {
    kernel_shape: [kh, kw],
    strides: [o.strideH, o.strideW],
    dilations: [o.dilationH, o.dilationW],
    pads: onnxPads2d(o.padding, x.shape[1]!, x.shape[2]!, [kh, kw], [o.strideH, o.strideW], [o.dilationH, o.dilationW]),
    group: 1,
  });
};
