import type { OpMapping } from '../op-mapping.ts';

/** depthToSpaceMapping maps DEPTH_TO_SPACE (NHWC [N, H, W, C * b * b] -> [N, H * b, W * b, C], TensorFlow's depth-major order) to ONNX DepthToSpace mode 'DCR' on an NCHW value, which uses the same channel order. */
export const depthToSpaceMapping: OpMapping = (ctx, op) => {
  const xIndex = op.inputs[0]!;
  const x = ctx.tensor(xIndex);
  const blockSize = (op.options as { blockSize?: number }).blockSize ?? 0;
  if (x.shape.length !== 4) throw ctx.fail('DEPTH_TO_SPACE needs a rank-4 input');
  if (blockSize < 1 || x.shape[3]! % (blockSize * blockSize) !== 0) throw ctx.fail(`DEPTH_TO_SPACE block size ${blockSize} does not divide ${x.shape[3]} channels`);
  ctx.node('DepthToSpace', [ctx.input(xIndex, 'nchw')], [ctx.output(op.outputs[0]!, 'nchw')], { blocksize: blockSize, mode: 'DCR' });
};
