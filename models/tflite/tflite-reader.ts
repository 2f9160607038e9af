import { FlatTable } from './flatbuffer-table.ts';
import { parseBuiltinOptions } from './builtin-options.ts';
import { BUILTIN_OPERATOR, TENSOR_TYPE } from './tflite-schema.ts';
import type { TfliteModel, TfliteOperator, TfliteTensor } from './tflite-model.ts';

// Field indices from schema.fbs: Model{version, operator_codes, subgraphs, description, buffers},
// SubGraph{tensors, inputs, outputs, operators, name}, Tensor{shape, type, buffer, name},
// Buffer{data, offset, size}, OperatorCode{deprecated_builtin_code, custom_code, version, builtin_code},
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
