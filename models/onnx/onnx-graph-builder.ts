import { ATTRIBUTE_TYPE, ModelProtoType, ONNX_DATA_TYPE } from './onnx-proto.ts';

/** AttributeValue is an ONNX node attribute value: number (int unless listed in floats), string, or number array. */
export type AttributeValue = number | string | number[];

/** NodeAttributes maps attribute names to values; names listed in `floatAttributes` are written as FLOAT(S), others as INT(S). */
export type NodeAttributes = Record<string, AttributeValue>;

// Attribute names that ONNX defines as floats for the ops this project emits (Clip uses inputs, not attributes).
const FLOAT_ATTRIBUTES = new Set(['alpha', 'beta', 'epsilon', 'extrapolation_value', 'cubic_coeff_a']);

interface NodeRecord {
  op_type: string;
  name: string;
  input: string[];
  output: string[];
  attribute: object[];
}

/** OnnxGraphBuilder accumulates nodes and float32/int64 initializers and serialises one ONNX model deterministically (opset 17, IR 8 by default). */
export class OnnxGraphBuilder {
  private readonly nodes: NodeRecord[] = [];
  private readonly initializers: object[] = [];
  private readonly names = new Set<string>();

  /** uniqueName returns `base` or `base_<n>` so that every value name in the graph is distinct. */
  uniqueName(base: string): string {
    let name = base;
    for (let n = 1; this.names.has(name); n++) name = `${base}_${n}`;
    this.names.add(name);
    return name;
  }

  /** reserve marks a name as used (for graph inputs and fixed output names); throws if already taken. */
  reserve(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX value name '${name}' already used`);
    this.names.add(name);
    return name;
  }

  /** addNode appends one node; an empty string input means an omitted optional input. */
  addNode(opType: string, inputs: string[], outputs: string[], attributes: NodeAttributes = {}): void {
    const attribute = Object.entries(attributes).map(([name, value]) => encodeAttribute(name, value));
    this.nodes.push({ op_type: opType, name: `${opType}_${this.nodes.length}`, input: inputs, output: outputs, attribute });
  }

  /** addFloatInitializer adds a float32 constant with the given dims and returns its unique name. */
  addFloatInitializer(base: string, dims: number[], data: Float32Array): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer '${base}': ${data.length} values for dims [${dims}]`);
    const name = this.uniqueName(base);
    const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push({ name, dims, data_type: ONNX_DATA_TYPE.FLOAT, raw_data: raw });
    return name;
  }

  /** addInt64Initializer adds an int64 constant (shape, pads, sizes) with the given dims and returns its unique name. */
  addInt64Initializer(base: string, dims: number[], values: number[]): string {
    const name = this.uniqueName(base);
    const raw = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    this.initializers.push({ name, dims, data_type: ONNX_DATA_TYPE.INT64, raw_data: raw });
    return name;
  }

  /** encode serialises the graph with float32 graph inputs/outputs of the given static shapes into ONNX ModelProto bytes. */
  encode(spec: {
    graphName: string;
    inputs: { name: string; shape: number[] }[];
    outputs: { name: string; shape: number[] }[];
    docString?: string;
    metadata?: Record<string, string>;
    opsetVersion?: number;
  }): Uint8Array {
    const valueInfo = (v: { name: string; shape: number[] }) => ({
      name: v.name,
      type: { tensor_type: { elem_type: ONNX_DATA_TYPE.FLOAT, shape: { dim: v.shape.map((d) => ({ dim_value: d })) } } },
    });
    const model = {
      ir_version: 8,
      producer_name: 'live-matte tflite-to-onnx',
      producer_version: '1',
      doc_string: spec.docString ?? '',
      graph: {
        name: spec.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: spec.inputs.map(valueInfo),
        output: spec.outputs.map(valueInfo),
      },
      opset_import: [{ domain: '', version: spec.opsetVersion ?? 17 }],
      metadata_props: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
    const err = ModelProtoType.verify(model);
    if (err) throw new Error(`invalid ONNX model: ${err}`);
    return ModelProtoType.encode(ModelProtoType.fromObject(model)).finish();
  }
}

function encodeAttribute(name: string, value: AttributeValue): object {
  const isFloat = FLOAT_ATTRIBUTES.has(name);
  if (typeof value === 'string') return { name, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return isFloat ? { name, type: ATTRIBUTE_TYPE.FLOATS, floats: value } : { name, type: ATTRIBUTE_TYPE.INTS, ints: value };
  return isFloat ? { name, type: ATTRIBUTE_TYPE.FLOAT, f: value } : { name, type: ATTRIBUTE_TYPE.INT, i: value };
}
