import { permuteData } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';

/** transposeConvBiasMapping maps MediaPipe's custom Convolution2DTransposeBias (inputs x, weights [O, KH, KW, I], bias [O]; custom options = TfLiteTransposeConvParams {int32 padding (1 SAME, 2 VALID), stride_w, stride_h}) to ONNX ConvTranspose with explicit pads, cropping floor(total / 2) at the start as TFLite does. */
export const transposeConvBiasMapping: OpMapping = (ctx, op) => {
  const params = op.customOptions;
  if (!params || params.byteLength < 12) throw ctx.fail('Convolution2DTransposeBias needs 12 bytes of custom options (padding, stride_w, stride_h)');
  const view = new DataView(params.buffer, params.byteOffset, params.byteLength);
  const [padding, strideW, strideH] = [view.getInt32(0, true), view.getInt32(4, true), view.getInt32(8, true)];
  if (padding !== 1 && padding !== 2) throw ctx.fail(`Convolution2DTransposeBias padding code ${padding} is not SAME (1) or VALID (2)`);
  const [xIndex, wIndex, bIndex] = op.inputs as [number, number, number];
  const x = ctx.tensor(xIndex);
  const w = ctx.tensor(wIndex);
  const y = ctx.tensor(op.outputs[0]!);
  const [outC, kh, kw, inC] = w.shape as [number, number, number, number];
  if (inC !== x.shape[3]) throw ctx.fail(`Convolution2DTransposeBias weights expect ${inC} input channels, input has ${x.shape[3]}`);
  const pads = [0, 0, 0, 0];
  for (const [axis, k, stride] of [[1, kh, strideH], [2, kw, strideW]] as const) {
    const full = (x.shape[axis]! - 1) * stride + k;
    const expected = padding === 1 ? x.shape[axis]! * stride : full;
    if (y.shape[axis] !== expected) throw ctx.fail(`Convolution2DTransposeBias output size ${y.shape[axis]} on axis ${axis}, expected ${expected}`);
    const total = Math.max(full - expected, 0);
    pads[axis - 1] = Math.floor(total / 2);
    pads[axis + 1] = total - Math.floor(total / 2);
  }
  const weights = ctx.graph.addFloatInitializer(w.name, [inC, outC, kh, kw], permuteData(ctx.floatConstant(wIndex, 'Convolution2DTransposeBias weights'), w.shape, [3, 0, 1, 2]));
  ctx.node('ConvTranspose', [ctx.input(xIndex, 'nchw'), weights, ctx.input(bIndex, 'native')], [ctx.output(op.outputs[0]!, 'nchw')], {
    kernel_shape: [kh, kw],
    strides: [strideH, strideW],
    pads,
  });
};
