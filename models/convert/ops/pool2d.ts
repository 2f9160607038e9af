import type { PoolOptions } from '../../tflite/builtin-options.ts';
import type { OpMapping } from '../op-mapping.ts';
import { onnxPads2d } from '../same-padding.ts';

function poolMapping(onnxOp: 'AveragePool' | 'MaxPool'): OpMapping {
  return (ctx, op) => {
    const o = op.options as PoolOptions;
    const xIndex = op.inputs[0]!;
    const x = ctx.tensor(xIndex);
    if (x.shape.length !== 4) throw ctx.fail('pooling needs a rank-4 input');
    const [, h, w] = x.shape as [number, number, number];
    const input = ctx.input(xIndex, 'nchw');
    // A VALID window covering the whole plane is a global pool, which ORT runs without window bookkeeping.
    if (onnxOp === 'AveragePool' && o.padding === 'VALID' && o.filterH === h && o.filterW === w) {
      ctx.emitWithActivation('GlobalAveragePool', [input], op.outputs[0]!, 'nchw', o.activation);
      return;
    }
    // SAME-padded cells are excluded from averages (count_include_pad = 0) and from maxima, matching TFLite.
    ctx.emitWithActivation(onnxOp, [input], op.outputs[0]!, 'nchw', o.activation, {
      kernel_shape: [o.filterH, o.filterW],
      strides: [o.strideH, o.strideW],
      pads: onnxPads2d(o.padding, h, w, [o.filterH, o.filterW], [o.strideH, o.strideW]),
    });
  };
}

/** averagePool2dMapping maps AVERAGE_POOL_2D to ONNX AveragePool (count_include_pad 0) or GlobalAveragePool when the VALID window covers the plane. */
export const averagePool2dMapping: OpMapping = poolMapping('AveragePool');

/** maxPool2dMapping maps MAX_POOL_2D to ONNX MaxPool with explicit pads. */
export const maxPool2dMapping: OpMapping = poolMapping('MaxPool');
