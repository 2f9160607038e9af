// ONNX emitters for the layers of face-api.js's FaceRecognitionNet (src/faceRecognitionNet/{convLayer,
// residualLayer,scaleLayer}.ts, MIT), the tfjs port of dlib's ResNet face descriptor. The graph body is
// NCHW; each function mirrors one face-api function op for op (conv, bias, per-channel scale, ReLU,
// dlib's add_prev with zero padding), so the ONNX result matches face-api within float rounding.
import type { OnnxGraphBuilder } from '../onnx/onnx-graph-builder.ts';
import { onnxPads2d } from '../convert/same-padding.ts';
import type { WeightTensor } from './tfjs-weights.ts';

/** NchwValue is an ONNX value in the graph body with its static NCHW shape [n, c, h, w]. */
export interface NchwValue {
  name: string;
  shape: [number, number, number, number];
}

/** WeightLookup returns the decoded weight `name` (tfjs shape); throws when the weight is absent. */
export type WeightLookup = (name: string) => WeightTensor;

/** weightLookup wraps a decoded weight map so that a missing name throws an Error naming it and `source`. */
export function weightLookup(weights: ReadonlyMap<string, WeightTensor>, source: string): WeightLookup {
  return (name) => {
    const w = weights.get(name);
    if (!w) throw new Error(`${source}: weight '${name}' is missing`);
    return w;
  };
}

function expectShape(name: string, w: WeightTensor, shape: number[]): void {
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) throw new Error(`weight '${name}' has shape [${w.shape}], expected [${shape}]`);
}

/** hwioToOihw permutes tfjs conv filters [kh, kw, in, out] to ONNX Conv weights [out, in, kh, kw]. */
export function hwioToOihw(data: Float32Array, [kh, kw, ci, co]: [number, number, number, number]): Float32Array {
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = data[((y * kw + x) * ci + i) * co + o]!;
  return out;
}

/** ConvLayerOptions: stride (px), tfjs padding ('same' puts the odd pixel at the end, as TensorFlow) and whether a ReLU follows. */
export interface ConvLayerOptions {
  stride: 1 | 2;
  padding: 'same' | 'valid';
  relu: boolean;
}

/**
 * emitConvLayer emits face-api's convLayer for the weights under `prefix`: conv2d with `prefix/conv/filters`
 * [k, k, in, out] and `prefix/conv/bias` [out], then `x * prefix/scale/weights + prefix/scale/biases`
 * (dlib's affine layer, batch norm folded by dlib), then ReLU if asked; returns the NCHW result.
 */
export function emitConvLayer(b: OnnxGraphBuilder, x: NchwValue, weight: WeightLookup, prefix: string, o: ConvLayerOptions): NchwValue {
  const filters = weight(`${prefix}/conv/filters`);
  const [kh, kw, ci, co] = filters.shape as [number, number, number, number];
  if (filters.shape.length !== 4 || ci !== x.shape[1]) throw new Error(`weight '${prefix}/conv/filters' has shape [${filters.shape}], expected [k, k, ${x.shape[1]}, out]`);
  const bias = weight(`${prefix}/conv/bias`);
  const scale = weight(`${prefix}/scale/weights`);
  const shift = weight(`${prefix}/scale/biases`);
  for (const [n, w] of [[`${prefix}/conv/bias`, bias], [`${prefix}/scale/weights`, scale], [`${prefix}/scale/biases`, shift]] as const) expectShape(n, w, [co]);
  const [, , h, w] = x.shape;
  const pads = onnxPads2d(o.padding === 'same' ? 'SAME' : 'VALID', h, w, [kh, kw], [o.stride, o.stride]);
  const outH = Math.floor((h + pads[0]! + pads[2]! - kh) / o.stride) + 1;
  const outW = Math.floor((w + pads[1]! + pads[3]! - kw) / o.stride) + 1;
  const wName = b.addFloatInitializer(`${prefix}/conv/filters`, [co, ci, kh, kw], hwioToOihw(filters.data, [kh, kw, ci, co]));
  const bName = b.addFloatInitializer(`${prefix}/conv/bias`, [co], bias.data);
  const conv = b.uniqueName(`${prefix}/conv`);
  b.addNode('Conv', [x.name, wName, bName], [conv], { kernel_shape: [kh, kw], strides: [o.stride, o.stride], pads });
  const mul = b.uniqueName(`${prefix}/scale/mul`);
  b.addNode('Mul', [conv, b.addFloatInitializer(`${prefix}/scale/weights`, [1, co, 1, 1], scale.data)], [mul]);
  const add = b.uniqueName(`${prefix}/scale/add`);
  b.addNode('Add', [mul, b.addFloatInitializer(`${prefix}/scale/biases`, [1, co, 1, 1], shift.data)], [add]);
  const shape: NchwValue['shape'] = [x.shape[0], co, outH, outW];
  if (!o.relu) return { name: add, shape };
  const relu = b.uniqueName(`${prefix}/relu`);
  b.addNode('Relu', [add], [relu]);
  return { name: relu, shape };
}

/** emitPool emits a VALID max or average pool (kernel and stride in px, no padding, as face-api's tf.maxPool / tf.avgPool with 'valid'). */
export function emitPool(b: OnnxGraphBuilder, x: NchwValue, kind: 'max' | 'avg', kernel: number, stride: number, base: string): NchwValue {
  const name = b.uniqueName(base);
  b.addNode(kind === 'max' ? 'MaxPool' : 'AveragePool', [x.name], [name], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [0, 0, 0, 0] });
  const [n, c, h, w] = x.shape;
  return { name, shape: [n, c, Math.floor((h - kernel) / stride) + 1, Math.floor((w - kernel) / stride) + 1] };
}

function emitRelu(b: OnnxGraphBuilder, x: NchwValue, base: string): NchwValue {
  const name = b.uniqueName(base);
  b.addNode('Relu', [x.name], [name]);
  return { name, shape: x.shape };
}

function emitAdd(b: OnnxGraphBuilder, x: NchwValue, y: NchwValue, base: string): NchwValue {
  if (x.shape.some((d, i) => d !== y.shape[i])) throw new Error(`${base}: adding [${x.shape}] and [${y.shape}]`);
  const name = b.uniqueName(base);
  b.addNode('Add', [x.name, y.name], [name]);
  return { name, shape: x.shape };
}

/** emitZeroPadEnd pads `x` with zeros after the last element of each NCHW axis by `extra` [n, c, h, w]; returns `x` unchanged when all are 0. */
export function emitZeroPadEnd(b: OnnxGraphBuilder, x: NchwValue, extra: [number, number, number, number], base: string): NchwValue {
  if (extra.every((e) => e === 0)) return x;
  const name = b.uniqueName(base);
  b.addNode('Pad', [x.name, b.addInt64Initializer(`${base}/pads`, [8], [0, 0, 0, 0, ...extra])], [name], { mode: 'constant' });
  return { name, shape: x.shape.map((d, i) => d + extra[i]!) as NchwValue['shape'] };
}

/** emitResidual emits face-api's `residual`: conv (3x3 SAME, ReLU) -> conv (3x3 SAME) -> + x -> ReLU, weights under `prefix/conv1` and `prefix/conv2`. */
export function emitResidual(b: OnnxGraphBuilder, x: NchwValue, weight: WeightLookup, prefix: string): NchwValue {
  const c1 = emitConvLayer(b, x, weight, `${prefix}/conv1`, { stride: 1, padding: 'same', relu: true });
  const c2 = emitConvLayer(b, c1, weight, `${prefix}/conv2`, { stride: 1, padding: 'same', relu: false });
  return emitRelu(b, emitAdd(b, c2, x, `${prefix}/add`), `${prefix}/relu`);
}

/**
 * emitResidualDown emits face-api's `residualDown`: conv (3x3 stride 2 VALID, ReLU) -> conv (3x3 SAME),
 * plus the skip path avgPool 2x2 stride 2 VALID with zero channels appended (the channel count doubles);
 * when the pooled plane is one pixel larger (odd input), the conv path gets a zero row at the bottom and
 * a zero column on the right first (dlib's add_prev zero-fills where sizes differ); then ReLU.
 * Throws when the shapes differ in any other way, which face-api does not handle either.
 */
export function emitResidualDown(b: OnnxGraphBuilder, x: NchwValue, weight: WeightLookup, prefix: string): NchwValue {
  const c1 = emitConvLayer(b, x, weight, `${prefix}/conv1`, { stride: 2, padding: 'valid', relu: true });
  let main = emitConvLayer(b, c1, weight, `${prefix}/conv2`, { stride: 1, padding: 'same', relu: false });
  let pooled = emitPool(b, x, 'avg', 2, 2, `${prefix}/avgpool`);
  const [, mc, mh, mw] = main.shape;
  const [, pc, ph, pw] = pooled.shape;
  if (mh !== ph || mw !== pw) {
    if (ph - mh !== 1 || pw - mw !== 1) throw new Error(`${prefix}: conv path [${main.shape}] and pooled skip [${pooled.shape}] differ by more than one pixel`);
    main = emitZeroPadEnd(b, main, [0, 0, 1, 1], `${prefix}/pad_hw`);
  }
  if (mc !== pc) {
    if (mc !== 2 * pc) throw new Error(`${prefix}: conv path has ${mc} channels, skip ${pc}; face-api only doubles them`);
    pooled = emitZeroPadEnd(b, pooled, [0, pc, 0, 0], `${prefix}/pad_c`);
  }
  return emitRelu(b, emitAdd(b, pooled, main, `${prefix}/add`), `${prefix}/relu`);
}
