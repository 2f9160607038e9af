import type { BuiltinOptions } from './builtin-options.ts';

/** TfliteTensor is one tensor of a TFLite subgraph: static NHWC-style shape, element type name and constant bytes if it has a buffer. */
export interface TfliteTensor {
  name: string;
  shape: number[];
  /** element type name from TENSOR_TYPE, e.g. 'FLOAT32', 'FLOAT16', 'INT32' */
  type: string;
  /** little-endian constant bytes, absent for activations; for a sparse tensor only the stored (non-zero) values */
  data?: Uint8Array;
  /** sparsity metadata of a sparse constant (schema.fbs SparsityParameters), read by DENSIFY */
  sparsity?: TfliteSparsity;
}

/** TfliteDimensionMetadata is one traversal-order dimension of a sparse tensor: DENSE with its size, or SPARSE_CSR with segment offsets and indices. */
export interface TfliteDimensionMetadata {
  format: 'DENSE' | 'SPARSE_CSR';
  denseSize: number;
  arraySegments: number[];
  arrayIndices: number[];
}

/** TfliteSparsity is schema.fbs SparsityParameters: traversal order over the original dims then block dims, block dim -> original dim map, per-level metadata. */
export interface TfliteSparsity {
  traversalOrder: number[];
  blockMap: number[];
  dimMetadata: TfliteDimensionMetadata[];
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
