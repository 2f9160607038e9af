import type { Padding } from '../tflite/tflite-schema.ts';

/** explicitPads converts TFLite SAME/VALID padding for one spatial axis (sizes in px) to [begin, end] pads; SAME puts the odd pixel at the end, as TensorFlow does. */
export function explicitPads(padding: Padding, inSize: number, kernel: number, stride: number, dilation = 1): [number, number] {
  if (padding === 'VALID') return [0, 0];
  const effectiveKernel = (kernel - 1) * dilation + 1;
  const outSize = Math.ceil(inSize / stride);
  const total = Math.max((outSize - 1) * stride + effectiveKernel - inSize, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/** onnxPads2d returns ONNX `pads` [top, left, bottom, right] for an NHWC input of height/width `inH`/`inW`. */
export function onnxPads2d(
  padding: Padding,
  inH: number,
  inW: number,
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number] = [1, 1],
): number[] {
  const [top, bottom] = explicitPads(padding, inH, kernel[0], stride[0], dilation[0]);
  const [left, right] = explicitPads(padding, inW, kernel[1], stride[1], dilation[1]);
  return [top, left, bottom, right];
}
