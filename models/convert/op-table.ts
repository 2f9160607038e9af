import type { OpMapping } from './op-mapping.ts';
import { addMapping, mulMapping } from './ops/binary-elementwise.ts';
import { concatenationMapping } from './ops/concatenation.ts';
import { conv2dMapping } from './ops/conv2d.ts';
import { densifyMapping } from './ops/densify.ts';
import { depthToSpaceMapping } from './ops/depth-to-space.ts';
import { depthwiseConv2dMapping } from './ops/depthwise-conv2d.ts';
import { dequantizeMapping } from './ops/dequantize.ts';
import { meanMapping } from './ops/mean.ts';
import { padMapping } from './ops/pad.ts';
import { averagePool2dMapping, maxPool2dMapping } from './ops/pool2d.ts';
import { reshapeMapping } from './ops/reshape.ts';
import { resizeBilinearMapping } from './ops/resize-bilinear.ts';
import { transposeConvBiasMapping } from './ops/transpose-conv-bias.ts';
import { clippedReluMapping, hardSwishMapping, logisticMapping, reluMapping } from './ops/unary-activation.ts';

/** OP_TABLE maps TFLite op names (builtin names, or custom codes for CUSTOM ops) to their ONNX mappings; anything missing is unsupported. */
export const OP_TABLE: Readonly<Record<string, OpMapping>> = {
  ADD: addMapping,
  AVERAGE_POOL_2D: averagePool2dMapping,
  CONCATENATION: concatenationMapping,
  CONV_2D: conv2dMapping,
  Convolution2DTransposeBias: transposeConvBiasMapping,
  DENSIFY: densifyMapping,
  DEPTH_TO_SPACE: depthToSpaceMapping,
  DEPTHWISE_CONV_2D: depthwiseConv2dMapping,
  DEQUANTIZE: dequantizeMapping,
  HARD_SWISH: hardSwishMapping,
  LOGISTIC: logisticMapping,
  MAX_POOL_2D: maxPool2dMapping,
  MEAN: meanMapping,
  MUL: mulMapping,
  PAD: padMapping,
  RELU: reluMapping,
  RELU6: clippedReluMapping,
  RELU_N1_TO_1: clippedReluMapping,
  RESHAPE: reshapeMapping,
  RESIZE_BILINEAR: resizeBilinearMapping,
};
