// Enum values from tensorflow/lite/schema/schema.fbs (only the ones this project reads).

/** TENSOR_TYPE maps TFLite TensorType codes (schema.fbs `enum TensorType : byte`) to names. */
export const TENSOR_TYPE: Readonly<Record<number, string>> = {
  0: 'FLOAT32',
  1: 'FLOAT16',
  2: 'INT32',
  3: 'UINT8',
  4: 'INT64',
  6: 'BOOL',
  7: 'INT16',
  9: 'INT8',
};

/** BUILTIN_OPERATOR maps TFLite BuiltinOperator codes (schema.fbs `enum BuiltinOperator : int32`) to names; codes not listed are reported as `BUILTIN_<code>`. */
export const BUILTIN_OPERATOR: Readonly<Record<number, string>> = {
  0: 'ADD',
  1: 'AVERAGE_POOL_2D',
  2: 'CONCATENATION',
  3: 'CONV_2D',
  4: 'DEPTHWISE_CONV_2D',
  5: 'DEPTH_TO_SPACE',
  6: 'DEQUANTIZE',
  9: 'FULLY_CONNECTED',
  14: 'LOGISTIC',
  17: 'MAX_POOL_2D',
  18: 'MUL',
  19: 'RELU',
  20: 'RELU_N1_TO_1',
  21: 'RELU6',
  22: 'RESHAPE',
  23: 'RESIZE_BILINEAR',
  25: 'SOFTMAX',
  28: 'TANH',
  32: 'CUSTOM',
  34: 'PAD',
  39: 'TRANSPOSE',
  40: 'MEAN',
  41: 'SUB',
  42: 'DIV',
  117: 'HARD_SWISH',
  124: 'DENSIFY',
};

/** Padding is the TFLite `enum Padding : byte` (SAME = 0, VALID = 1) as a name. */
export type Padding = 'SAME' | 'VALID';

/** paddingName converts a schema Padding byte to its name; throws on unknown values. */
export function paddingName(code: number): Padding {
  if (code === 0) return 'SAME';
  if (code === 1) return 'VALID';
  throw new Error(`unknown TFLite padding code ${code}`);
}

/** FusedActivation is the TFLite `enum ActivationFunctionType : byte` as a name. */
export type FusedActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';

const ACTIVATIONS: FusedActivation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

/** activationName converts a schema ActivationFunctionType byte (0..5) to its name; throws on unknown values. */
export function activationName(code: number): FusedActivation {
  const name = ACTIVATIONS[code];
  if (!name) throw new Error(`unknown TFLite fused activation code ${code}`);
  return name;
}
