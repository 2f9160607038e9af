/** ConversionErrorCode lists the converter's error codes: an op with no mapping, or a model/op the mapping can not express. */
export type ConversionErrorCode = 'ERR_TFLITE_UNSUPPORTED_OP' | 'ERR_TFLITE_INVALID_MODEL';

/** ConversionError is thrown by the TFLite-to-ONNX converter; its message names the model file, the operator index and the op. */
export class ConversionError extends Error {
  constructor(
    readonly code: ConversionErrorCode,
    message: string,
    readonly source: string,
    readonly operatorIndex?: number,
    readonly opName?: string,
  ) {
    super(message);
    this.name = 'ConversionError';
  }
}
