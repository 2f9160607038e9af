import type { TfliteTensor } from './tflite-model.ts';

/** float16ToFloat32 decodes little-endian IEEE 754 half floats (including subnormals, inf, NaN) to a Float32Array. */
export function float16ToFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const h = bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** tensorFloat32 copies a FLOAT32 or FLOAT16 constant tensor's data to a Float32Array; returns undefined for non-constant or other types. */
export function tensorFloat32(tensor: TfliteTensor): Float32Array | undefined {
  if (!tensor.data) return undefined;
  if (tensor.type === 'FLOAT16') return float16ToFloat32(tensor.data);
  if (tensor.type !== 'FLOAT32') return undefined;
  return new Float32Array(tensor.data.slice().buffer);
}

/** tensorInt32 copies an INT32 constant tensor's data to a plain number array; returns undefined for non-constant or other types. */
export function tensorInt32(tensor: TfliteTensor): number[] | undefined {
  if (!tensor.data || tensor.type !== 'INT32') return undefined;
  return Array.from(new Int32Array(tensor.data.slice().buffer));
}
