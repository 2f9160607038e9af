import type { TfliteOperator } from '../tflite/tflite-model.ts';
import type { ConversionContext } from './conversion-context.ts';

/** OpMapping emits the ONNX nodes for one TFLite operator through the context; it throws a ConversionError (via ctx.fail) for cases it can not express. */
export type OpMapping = (ctx: ConversionContext, op: TfliteOperator) => void;
