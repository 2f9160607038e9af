import type { BuiltinOptions } from './builtin-options.ts';

/** TfliteTensor is one tensor of a TFLite subgraph: static NHWC-style shape, element type name and constant bytes if it has a buffer. */
export interface TfliteTensor {
  name: string;
  shape: number[];
  /** element type name from TENSOR_TYPE, e.g. 'FLOAT32', 'FLOAT16', 'INT32' */
  type: string;
  /** little-endian constant bytes, absent for activations */
  data?: Uint8Array;
}

/** TfliteOperator is one operator of a TFLite subgraph with its resolved op name and parsed builtin options. */
export interface TfliteOperator {
  /** builtin name (e.g. 'CONV_2D') or the custom code for CUSTOM ops (e.g. 'Convolution2DTransposeBias') */
  opName: string;
  inputs: number[];
  outputs: number[];
  options: BuiltinOptions;
  /** raw custom_options bytes (custom ops only) */
  customOptions?: Uint8Array;
}

/** TfliteModel is the first subgraph of a TFLite file as plain data, plus the file name used in error messages. */
export interface TfliteModel {
  source: string;
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}
