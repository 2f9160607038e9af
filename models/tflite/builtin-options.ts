import type { FlatTable } from './flatbuffer-table.ts';
import { activationName, paddingName, type FusedActivation, type Padding } from './tflite-schema.ts';

/** ConvOptions holds Conv2DOptions / DepthwiseConv2DOptions fields (strides and dilations in px, depthMultiplier 1 for plain conv). */
export interface ConvOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  dilationW: number;
  dilationH: number;
  depthMultiplier: number;
  activation: FusedActivation;
}

/** PoolOptions holds Pool2DOptions fields (filter and strides in px). */
export interface PoolOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  filterW: number;
  filterH: number;
  activation: FusedActivation;
}

/** BuiltinOptions is the union of parsed option objects; ops without options get `{}`. */
export type BuiltinOptions =
  | ConvOptions
  | PoolOptions
  | { activation: FusedActivation }
  | { axis: number; activation: FusedActivation }
  | { alignCorners: boolean; halfPixelCenters: boolean }
  | { newShape: number[] }
  | { keepDims: boolean }
  | { blockSize: number }
  | Record<string, never>;

// Field indices follow schema.fbs table declarations (vtable slot = 4 + 2 * index).
const PARSERS: Record<string, (t: FlatTable | undefined) => BuiltinOptions> = {
  CONV_2D: (t) => ({
    padding: paddingName(t?.int8(0) ?? 0),
    strideW: t?.int32(1) ?? 1,
    strideH: t?.int32(2) ?? 1,
    activation: activationName(t?.int8(3) ?? 0),
    dilationW: t?.int32(4, 1) ?? 1,
    dilationH: t?.int32(5, 1) ?? 1,
    depthMultiplier: 1,
  }),
  DEPTHWISE_CONV_2D: (t) => ({
    padding: paddingName(t?.int8(0) ?? 0),
    strideW: t?.int32(1) ?? 1,
    strideH: t?.int32(2) ?? 1,
    depthMultiplier: t?.int32(3, 1) ?? 1,
    activation: activationName(t?.int8(4) ?? 0),
    dilationW: t?.int32(5, 1) ?? 1,
    dilationH: t?.int32(6, 1) ?? 1,
  }),
  AVERAGE_POOL_2D: parsePool,
  MAX_POOL_2D: parsePool,
  ADD: (t) => ({ activation: activationName(t?.int8(0) ?? 0) }),
  MUL: (t) => ({ activation: activationName(t?.int8(0) ?? 0) }),
  CONCATENATION: (t) => ({ axis: t?.int32(0) ?? 0, activation: activationName(t?.int8(1) ?? 0) }),
  RESIZE_BILINEAR: (t) => ({ alignCorners: t?.bool(2) ?? false, halfPixelCenters: t?.bool(3) ?? false }),
  RESHAPE: (t) => ({ newShape: t?.int32s(0) ?? [] }),
  MEAN: (t) => ({ keepDims: t?.bool(0) ?? false }),
  DEPTH_TO_SPACE: (t) => ({ blockSize: t?.int32(0) ?? 0 }),
};

function parsePool(t: FlatTable | undefined): PoolOptions {
  return {
    padding: paddingName(t?.int8(0) ?? 0),
    strideW: t?.int32(1) ?? 1,
    strideH: t?.int32(2) ?? 1,
    filterW: t?.int32(3) ?? 1,
    filterH: t?.int32(4) ?? 1,
    activation: activationName(t?.int8(5) ?? 0),
  };
}

/** parseBuiltinOptions decodes the builtin options table of `opName` into a plain object; ops with no known options table yield `{}`. */
export function parseBuiltinOptions(opName: string, table: FlatTable | undefined): BuiltinOptions {
  const parse = PARSERS[opName];
  return parse ? parse(table) : {};
}
