import { FlatTable } from './flatbuffer-table.ts';
import { parseBuiltinOptions } from './builtin-options.ts';
import { BUILTIN_OPERATOR, TENSOR_TYPE } from './tflite-schema.ts';
import type { TfliteDimensionMetadata, TfliteModel, TfliteOperator, TfliteSparsity, TfliteTensor } from './tflite-model.ts';

// Field indices from schema.fbs: Model{version, operator_codes, subgraphs, description, buffers},
// SubGraph{tensors, inputs, outputs, operators, name}, Tensor{shape, type, buffer, name},
// Buffer{data, offset, size}, Tensor.sparsity (field 6) = SparsityParameters{traversal_order, block_map,
// dim_metadata}, DimensionMetadata{format, dense_size, array_segments (union type + value),
// array_indices (union type + value)}, SparseIndexVector 1 Int32Vector / 2 Uint16Vector / 3 Uint8Vector, OperatorCode{deprecated_builtin_code, custom_code, version, builtin_code},
// Operator{opcode_index, inputs, outputs, builtin_options_type, builtin_options, custom_options}.

/** readTfliteModel parses the first subgraph of a TFLite flatbuffer (`source` names the file in errors); throws if the file identifier is not TFL3 or the model has no subgraph or uses external buffers. */
export function readTfliteModel(file: Uint8Array, source: string): TfliteModel {
  // A plain Uint8Array view so that later .slice() calls copy (Node Buffer.slice does not).
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  const ident = new TextDecoder().decode(bytes.subarray(4, 8));
  if (ident !== 'TFL3') throw new Error(`${source}: not a TFLite flatbuffer (identifier '${ident}')`);
  const model = FlatTable.root(bytes);
  const opcodes = model.tables(1).map((code) => {
    const builtin = Math.max(code.int8(0), code.int32(3));
    const name = BUILTIN_OPERATOR[builtin] ?? `BUILTIN_${builtin}`;
    return name === 'CUSTOM' ? code.string(1, 'CUSTOM') : name;
  });
  const buffers = model.tables(4);
  const subgraph = model.tables(2)[0];
  if (!subgraph) throw new Error(`${source}: model has no subgraph`);

  const tensors: TfliteTensor[] = subgraph.tables(0).map((t) => {
    const tensor: TfliteTensor = {
      name: t.string(3),
      shape: t.int32s(0),
      type: TENSOR_TYPE[t.int8(1)] ?? `TYPE_${t.int8(1)}`,
    };
    const buffer = buffers[t.uint32(2)];
    if (buffer?.has(1)) throw new Error(`${source}: tensor '${tensor.name}' uses an external buffer, which is not supported`);
    const data = buffer?.bytes(0);
    if (data && data.byteLength > 0) tensor.data = data;
    const sparsity = t.table(6);
    if (sparsity) tensor.sparsity = readSparsity(sparsity);
    return tensor;
  });

  const operators: TfliteOperator[] = subgraph.tables(3).map((op) => {
    const opName = opcodes[op.uint32(0)] ?? `OPCODE_${op.uint32(0)}`;
    const operator: TfliteOperator = {
      opName,
      inputs: op.int32s(1),
      outputs: op.int32s(2),
      options: parseBuiltinOptions(opName, op.table(4)),
    };
    if (op.has(5)) operator.customOptions = op.bytes(5);
    return operator;
  });

  return { source, tensors, operators, inputs: subgraph.int32s(1), outputs: subgraph.int32s(2) };
}

function readSparsity(t: FlatTable): TfliteSparsity {
  return {
    traversalOrder: t.int32s(0),
    blockMap: t.int32s(1),
    dimMetadata: t.tables(2).map(
      (d): TfliteDimensionMetadata => ({
        format: d.int8(0) === 1 ? 'SPARSE_CSR' : 'DENSE',
        denseSize: d.int32(1),
        arraySegments: readIndexVector(d.uint8(2), d.table(3)),
        arrayIndices: readIndexVector(d.uint8(4), d.table(5)),
      }),
    ),
  };
}

function readIndexVector(type: number, table: FlatTable | undefined): number[] {
  if (!table || type === 0) return [];
  if (type === 1) return table.int32s(0);
  if (type === 2) return table.uint16s(0);
  if (type === 3) return Array.from(table.bytes(0));
  throw new Error(`unknown SparseIndexVector type ${type}`);
}
