import type { ConvOptions } from '../../tflite/builtin-options.ts';
import type { OpMapping } from '../op-mapping.ts';
import { onnxPads2d } from '../same-padding.ts';

type MappingArgs = Parameters<OpMapping>;

/**
 * emitConv emits the ONNX Conv shared by CONV_2D and DEPTHWISE_CONV_2D: NCHW input `xIndex`, the
 * already-permuted `weights` initializer, the optional bias, explicit pads for input size
 * `inputHW` and the fused activation; `group` is 1 for CONV_2D and C for depthwise.
 */
export function emitConv(ctx: MappingArgs[0], op: MappingArgs[1], weights: string, kernel: [number, number],
  inputHW: [number, number], group: number): void {
  const o = op.options as ConvOptions;
  const [xIndex, , bIndex] = op.inputs as [number, number, number?];
  const inputs = [ctx.input(xIndex, 'nchw'), weights];
  if (bIndex !== undefined && bIndex >= 0) inputs.push(ctx.input(bIndex, 'native'));
  ctx.emitWithActivation('Conv', inputs, op.outputs[0]!, 'nchw', o.activation, {
    kernel_shape: kernel,
    strides: [o.strideH, o.strideW],
    dilations: [o.dilationH, o.dilationW],
    pads: onnxPads2d(o.padding, inputHW[0], inputHW[1], kernel, [o.strideH, o.strideW], [o.dilationH, o.dilationW]),
    group,
  });
}
