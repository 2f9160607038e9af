import type { OnnxGraphBuilder, NodeAttributes } from '../onnx/onnx-graph-builder.ts';
import type { TfliteModel, TfliteOperator, TfliteTensor } from '../tflite/tflite-model.ts';
import { tensorFloat32, tensorInt32 } from '../tflite/tensor-data.ts';
import type { FusedActivation } from '../tflite/tflite-schema.ts';
import { ConversionError } from './conversion-error.ts';
import { NCHW_TO_NHWC, NHWC_TO_NCHW, permuteData, type Layout } from './layout.ts';

/** BodyLayout selects the axis order of the converted graph body: 'nchw' (one transpose at each end) or 'nhwc' (transposes around every NCHW-only op). */
export type BodyLayout = 'nchw' | 'nhwc';

/** ConversionContext tracks, for the operator being mapped, which ONNX value holds each TFLite tensor in which layout, folds constants and emits nodes. */
export class ConversionContext {
  private readonly values = new Map<number, Map<Layout, string>>();
  private readonly folded = new Map<number, Float32Array>();
  private readonly finalNames = new Map<number, string>();
  private current?: { index: number; op: TfliteOperator };

  constructor(
    readonly model: TfliteModel,
    readonly graph: OnnxGraphBuilder,
    readonly bodyLayout: BodyLayout,
  ) {}

  /** preferredLayout is the layout layout-agnostic ops (elementwise, concat, pad) produce for rank-4 tensors. */
  get preferredLayout(): Layout {
    return this.bodyLayout === 'nchw' ? 'nchw' : 'native';
  }

  /** begin sets the operator whose mapping runs next, so that errors can name it. */
  begin(index: number, op: TfliteOperator): void {
    this.current = { index, op };
  }

  /** fail builds a ConversionError naming the model file, the current operator index and op, with `reason`. */
  fail(reason: string, code: 'ERR_TFLITE_UNSUPPORTED_OP' | 'ERR_TFLITE_INVALID_MODEL' = 'ERR_TFLITE_INVALID_MODEL'): ConversionError {
    const where = this.current ? `operator #${this.current.index} (${this.current.op.opName})` : 'graph';
    return new ConversionError(code, `${this.model.source}: ${where}: ${reason}`, this.model.source, this.current?.index, this.current?.op.opName);
  }

  /** tensor returns TFLite tensor `index`; throws a ConversionError if it does not exist. */
  tensor(index: number): TfliteTensor {
    const t = this.model.tensors[index];
    if (!t) throw this.fail(`tensor index ${index} out of range`);
    return t;
  }

  /** nameFinal fixes the ONNX name under which graph-output tensor `index` must appear in native layout. */
  nameFinal(index: number, name: string): void {
    this.finalNames.set(index, this.graph.reserve(name));
  }

  /** defineInput records that graph input tensor `index` is available as ONNX value `name` in native layout. */
  defineInput(index: number, name: string): void {
    this.record(index, 'native', this.graph.reserve(name));
  }

  /** isConstant tells whether tensor `index` has constant data (from the file or folded). */
  isConstant(index: number): boolean {
    return this.folded.has(index) || this.tensor(index).data !== undefined;
  }

  /** floatConstant returns the float32 data of a constant tensor (folded DENSIFY / DEQUANTIZE results included); throws if it is not a float constant or is a sparse one not yet densified. */
  floatConstant(index: number, what: string): Float32Array {
    const folded = this.folded.get(index);
    if (!folded && this.tensor(index).sparsity) throw this.fail(`${what} (tensor '${this.tensor(index).name}') is sparse and must go through DENSIFY first`);
    const data = folded ?? tensorFloat32(this.tensor(index));
    if (!data) throw this.fail(`${what} (tensor '${this.tensor(index).name}') must be a float32/float16 constant`);
    return data;
  }

  /** floatConstantOfStoredValues returns the stored (non-zero) values of a sparse float32/float16 constant as float32, in storage order, for DENSIFY. */
  floatConstantOfStoredValues(index: number): Float32Array {
    const data = tensorFloat32(this.tensor(index));
    if (!data) throw this.fail(`tensor '${this.tensor(index).name}' has no float32/float16 data`);
    return data;
  }

  /** intConstant returns the data of an INT32 constant tensor; throws if it is not one. */
  intConstant(index: number, what: string): number[] {
    const data = tensorInt32(this.tensor(index));
    if (!data) throw this.fail(`${what} (tensor '${this.tensor(index).name}') must be an int32 constant`);
    return data;
  }

  /** fold stores `data` as the constant value of tensor `index` (used by DENSIFY and DEQUANTIZE). */
  fold(index: number, data: Float32Array): void {
    this.folded.set(index, data);
  }

  /** input returns the ONNX value name of TFLite tensor `index` in `layout`, inserting a Transpose (once) or a permuted initializer as needed; `layout` 'nchw' requires rank 4. */
  input(index: number, layout: Layout): string {
    const existing = this.values.get(index)?.get(layout);
    if (existing) return existing;
    const tensor = this.tensor(index);
    if (layout === 'nchw' && tensor.shape.length !== 4) throw this.fail(`tensor '${tensor.name}' has rank ${tensor.shape.length}, expected 4`);
    if (this.isConstant(index)) {
      const data = this.floatConstant(index, 'operand');
      const name =
        layout === 'nchw'
          ? this.graph.addFloatInitializer(tensor.name, NHWC_TO_NCHW.map((a) => tensor.shape[a]!), permuteData(data, tensor.shape, NHWC_TO_NCHW))
          : this.graph.addFloatInitializer(tensor.name, tensor.shape, data);
      this.record(index, layout, name);
      return name;
    }
    const other: Layout = layout === 'nchw' ? 'native' : 'nchw';
    const source = this.values.get(index)?.get(other);
    if (!source) throw this.fail(`tensor '${tensor.name}' is used before it is produced`);
    const name = this.allocate(index, layout);
    this.graph.addNode('Transpose', [source], [name], { perm: layout === 'nchw' ? NHWC_TO_NCHW : NCHW_TO_NHWC });
    return name;
  }

  /** broadcastInput returns tensor `index` as an operand of a rank-4 elementwise op in `layout`: rank < 4 constants are left-padded to rank 4 first. */
  broadcastInput(index: number, layout: Layout): string {
    const tensor = this.tensor(index);
    if (layout === 'native' || tensor.shape.length === 4) return this.input(index, layout);
    if (!this.isConstant(index)) throw this.fail(`non-constant operand '${tensor.name}' of rank ${tensor.shape.length} in an NCHW body`);
    const shape4 = [...new Array<number>(4 - tensor.shape.length).fill(1), ...tensor.shape];
    const data = this.floatConstant(index, 'operand');
    return this.graph.addFloatInitializer(tensor.name, NHWC_TO_NCHW.map((a) => shape4[a]!), permuteData(data, shape4, NHWC_TO_NCHW));
  }

  /** output allocates the ONNX value name that will hold TFLite tensor `index` in `layout`. */
  output(index: number, layout: Layout): string {
    return this.allocate(index, layout);
  }

  /** node emits one ONNX node. */
  node(opType: string, inputs: string[], outputs: string[], attributes?: NodeAttributes): void {
    this.graph.addNode(opType, inputs, outputs, attributes);
  }

  /** emitWithActivation emits `opType` writing TFLite tensor `outIndex` in `layout`, followed by the fused activation node if any; throws for SIGN_BIT. */
  emitWithActivation(opType: string, inputs: string[], outIndex: number, layout: Layout, activation: FusedActivation, attributes?: NodeAttributes): void {
    if (activation === 'NONE') {
      this.node(opType, inputs, [this.output(outIndex, layout)], attributes);
      return;
    }
    const raw = this.graph.uniqueName(`${this.tensor(outIndex).name}_preact`);
    this.node(opType, inputs, [raw], attributes);
    this.activation(activation, raw, this.output(outIndex, layout));
  }

  /** activation emits the ONNX node(s) for a TFLite activation from value `x` to value `y`; throws for SIGN_BIT. */
  activation(kind: FusedActivation, x: string, y: string): void {
    if (kind === 'RELU') this.node('Relu', [x], [y]);
    else if (kind === 'TANH') this.node('Tanh', [x], [y]);
    else if (kind === 'RELU6' || kind === 'RELU_N1_TO_1') {
      const [lo, hi] = kind === 'RELU6' ? [0, 6] : [-1, 1];
      const min = this.graph.addFloatInitializer(`clip_min_${lo}`, [], Float32Array.of(lo));
      const max = this.graph.addFloatInitializer(`clip_max_${hi}`, [], Float32Array.of(hi));
      this.node('Clip', [x, min, max], [y]);
    } else if (kind !== 'NONE') throw this.fail(`fused activation ${kind} is not supported`, 'ERR_TFLITE_UNSUPPORTED_OP');
  }

  private allocate(index: number, layout: Layout): string {
    const final = this.finalNames.get(index);
    const name = final && layout === 'native' ? final : this.graph.uniqueName(layout === 'nchw' ? `${this.tensor(index).name}_nchw` : this.tensor(index).name);
    this.record(index, layout, name);
    return name;
  }

  private record(index: number, layout: Layout, name: string): void {
    let byLayout = this.values.get(index);
    if (!byLayout) this.values.set(index, (byLayout = new Map()));
    if (byLayout.has(layout)) throw this.fail(`tensor '${this.tensor(index).name}' is written twice`);
    byLayout.set(layout, name);
  }
}
