// The network of face-api.js's FaceRecognitionNet (src/faceRecognitionNet/FaceRecognitionNet.ts, MIT,
// @vladmandic/face-api 1.7.15), the tfjs port of dlib's dlib_face_recognition_resnet_model_v1 (a ResNet-34
// with some layers removed and the filters halved; 150x150 RGB chip -> 128-d descriptor), written out
// as an ONNX graph from the weights in its manifest. The weights are not changed except uint8 -> float32.
import { OnnxGraphBuilder } from '../onnx/onnx-graph-builder.ts';
import { emitConvLayer, emitPool, emitResidual, emitResidualDown, weightLookup, type NchwValue } from './resnet-layers.ts';
import type { WeightTensor } from './tfjs-weights.ts';

/** FACE_RECOGNITION_INPUT_SIZE is the side of the square RGB chip the net takes (px), face-api's `toBatchTensor(150)`. */
export const FACE_RECOGNITION_INPUT_SIZE = 150;

/** FACE_RECOGNITION_DESCRIPTOR_LENGTH is the length of the output descriptor (dlib's 128-d face encoding). */
export const FACE_RECOGNITION_DESCRIPTOR_LENGTH = 128;

/** FACE_RECOGNITION_MEAN_RGB is the per-channel mean (0..255 scale) face-api subtracts before dividing by 255. */
export const FACE_RECOGNITION_MEAN_RGB: readonly [number, number, number] = [122.782, 117.001, 104.298];

/** FaceRecognitionNetOptions: names of the graph input (NHWC [1, 150, 150, 3], RGB 0..255) and output ([1, 128]), and the ONNX doc string and metadata. */
export interface FaceRecognitionNetOptions {
  inputName: string;
  outputName: string;
  graphName: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/**
 * buildFaceRecognitionNetOnnx writes face-api's FaceRecognitionNet.forwardInput as an ONNX model: input
 * NHWC [1, 150, 150, 3] float32 RGB in 0..255; (x - FACE_RECOGNITION_MEAN_RGB) / 255; conv 7x7/2 -> max pool
 * 3/2 -> 3 residual (32) -> down + 3 (64) -> down + 2 (128) -> down + 2 (256) -> down (256) -> mean over
 * the plane -> x fc [256, 128]; output [1, 128] (not normalised; dlib compares with Euclidean distance 0.6).
 * Throws an Error naming the weight when one is missing or has the wrong shape.
 */
export function buildFaceRecognitionNetOnnx(weights: ReadonlyMap<string, WeightTensor>, o: FaceRecognitionNetOptions): Uint8Array {
  const b = new OnnxGraphBuilder();
  const weight = weightLookup(weights, o.graphName);
  const size = FACE_RECOGNITION_INPUT_SIZE;
  const input = b.reserve(o.inputName);
  const centred = b.uniqueName('normalise/sub');
  b.addNode('Sub', [input, b.addFloatInitializer('normalise/mean_rgb', [1, 1, 1, 3], Float32Array.from(FACE_RECOGNITION_MEAN_RGB))], [centred]);
  const scaled = b.uniqueName('normalise/div');
  b.addNode('Div', [centred, b.addFloatInitializer('normalise/255', [], Float32Array.of(255))], [scaled]);
  const nchw = b.uniqueName('input_nchw');
  b.addNode('Transpose', [scaled], [nchw], { perm: [0, 3, 1, 2] });

  let x: NchwValue = { name: nchw, shape: [1, 3, size, size] };
  x = emitConvLayer(b, x, weight, 'conv32_down', { stride: 2, padding: 'valid', relu: true });
  x = emitPool(b, x, 'max', 3, 2, 'maxpool');
  for (const p of ['conv32_1', 'conv32_2', 'conv32_3']) x = emitResidual(b, x, weight, p);
  x = emitResidualDown(b, x, weight, 'conv64_down');
  for (const p of ['conv64_1', 'conv64_2', 'conv64_3']) x = emitResidual(b, x, weight, p);
  x = emitResidualDown(b, x, weight, 'conv128_down');
  for (const p of ['conv128_1', 'conv128_2']) x = emitResidual(b, x, weight, p);
  x = emitResidualDown(b, x, weight, 'conv256_down');
  for (const p of ['conv256_1', 'conv256_2']) x = emitResidual(b, x, weight, p);
  x = emitResidualDown(b, x, weight, 'conv256_down_out');

  const channels = x.shape[1];
  const fc = weight('fc');
  if (fc.shape.length !== 2 || fc.shape[0] !== channels || fc.shape[1] !== FACE_RECOGNITION_DESCRIPTOR_LENGTH) {
    throw new Error(`weight 'fc' has shape [${fc.shape}], expected [${channels}, ${FACE_RECOGNITION_DESCRIPTOR_LENGTH}]`);
  }
  const mean = b.uniqueName('global_mean');
  b.addNode('ReduceMean', [x.name], [mean], { axes: [2, 3], keepdims: 0 });
  const output = b.reserve(o.outputName);
  b.addNode('MatMul', [mean, b.addFloatInitializer('fc', [channels, FACE_RECOGNITION_DESCRIPTOR_LENGTH], fc.data)], [output]);

  return b.encode({
    graphName: o.graphName,
    inputs: [{ name: input, shape: [1, size, size, 3] }],
    outputs: [{ name: output, shape: [1, FACE_RECOGNITION_DESCRIPTOR_LENGTH] }],
    ...(o.docString === undefined ? {} : { docString: o.docString }),
    ...(o.metadata === undefined ? {} : { metadata: o.metadata }),
  });
}
