import type { OpMapping } from '../op-mapping.ts';

/** dequantizeMapping folds DEQUANTIZE of a constant float16 (or float32) tensor into a float32 constant; it emits no node and rejects integer-quantised inputs. */
export const dequantizeMapping: OpMapping = (ctx, op) => {
  const xIndex = op.inputs[0]!;
  const x = ctx.tensor(xIndex);
  if (!ctx.isConstant(xIndex) || (x.type !== 'FLOAT16' && x.type !== 'FLOAT32')) {
    throw ctx.fail(`DEQUANTIZE of ${x.type} tensor '${x.name}' is not supported (only constant float16 weights)`, 'ERR_TFLITE_UNSUPPORTED_OP');
  }
  ctx.fold(op.outputs[0]!, ctx.floatConstant(xIndex, 'DEQUANTIZE input'));
};
