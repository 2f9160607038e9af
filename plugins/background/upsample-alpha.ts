/**
 * Separable bilinear resampling of 8-bit planes (mattes and low-resolution backgrounds) with
 * half-pixel-centre alignment (the convention of ffmpeg/sharp/OpenCV `INTER_LINEAR`):
 * destination pixel d samples source position (d + 0.5) * src / dst - 0.5, clamped to the edges.
 * Integer math only: 8-bit fractional weights, a Uint16 horizontal pass, then a vertical pass.
 */

/** Per-axis lookup: source indices and 8-bit weight (0..256) of the second tap. */
interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w1: Int32Array;
}

// Tables depend only on (srcLen, dstLen), never on a stream, so one per-worker cache is safe.
const axisTables = new Map<string, AxisTable>();

function axisTable(srcLen: number, dstLen: number): AxisTable {
  const key = `${srcLen}>${dstLen}`;
  let table = axisTables.get(key);
  if (table !== undefined) return table;
  const i0 = new Int32Array(dstLen);
  const i1 = new Int32Array(dstLen);
  const w1 = new Int32Array(dstLen);
  const scale = srcLen / dstLen;
  for (let d = 0; d < dstLen; d++) {
    let s = (d + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    let a = Math.floor(s);
    if (a > srcLen - 1) a = srcLen - 1;
    let w = Math.round((s - a) * 256);
    if (w === 256) { a = Math.min(a + 1, srcLen - 1); w = 0; }
    i0[d] = a;
    i1[d] = Math.min(a + 1, srcLen - 1);
    w1[d] = w;
  }
  table = { i0, i1, w1 };
  if (axisTables.size > 64) axisTables.clear();
  axisTables.set(key, table);
  return table;
}

// Scratch rows of the horizontal pass, reused across calls (contents never outlive one call).
let scratch = new Uint16Array(0);

/**
 * resizeBilinear resamples the 8-bit plane `src` (srcWidth x srcHeight, stride = width) into `dst`
 * (dstWidth x dstHeight) and returns `dst`; used for upsampling (model -> frame) but valid for any size.
 */
export function resizeBilinear(
  src: Uint8Array,
  srcWidth: number,
  srcHeight: number,
  dst: Uint8Array,
  dstWidth: number,
  dstHeight: number,
): Uint8Array {
  if (src.length < srcWidth * srcHeight) throw new RangeError(`resizeBilinear: src has ${src.length} bytes, expected ${srcWidth * srcHeight}`);
  if (dst.length < dstWidth * dstHeight) throw new RangeError(`resizeBilinear: dst has ${dst.length} bytes, expected ${dstWidth * dstHeight}`);
  const tx = axisTable(srcWidth, dstWidth);
  const ty = axisTable(srcHeight, dstHeight);
  const needed = srcHeight * dstWidth;
  if (scratch.length < needed) scratch = new Uint16Array(needed);
  const rows = scratch;
  const { i0: xi0, i1: xi1, w1: xw1 } = tx;

  // Horizontal pass on every source row: values scaled by 256 (0..65280).
  for (let y = 0; y < srcHeight; y++) {
    const s = y * srcWidth;
    const o = y * dstWidth;
    for (let x = 0; x < dstWidth; x++) {
      const a = src[s + xi0[x]];
      const w = xw1[x];
      rows[o + x] = (a << 8) + (src[s + xi1[x]] - a) * w;
    }
  }

  // Vertical pass: combine two scaled rows, remove both 8-bit scales with rounding.
  const { i0: yi0, i1: yi1, w1: yw1 } = ty;
  for (let y = 0; y < dstHeight; y++) {
    const r0 = yi0[y] * dstWidth;
    const r1 = yi1[y] * dstWidth;
    const w = yw1[y];
    const o = y * dstWidth;
    if (w === 0) {
      for (let x = 0; x < dstWidth; x++) dst[o + x] = (rows[r0 + x] + 128) >> 8;
    } else {
      const w0 = 256 - w;
      for (let x = 0; x < dstWidth; x++) dst[o + x] = (rows[r0 + x] * w0 + rows[r1 + x] * w + 32768) >> 16;
    }
  }
  return dst;
}

/** AlphaPlanes holds a matte at luma resolution (`y`) and at chroma resolution (`c`), 0..255. */
export interface AlphaPlanes {
  y: Uint8Array;
  c: Uint8Array;
}

/**
 * upsampleAlpha resamples a model-resolution matte (modelWidth x modelHeight) to the frame's luma
 * (width x height) and chroma ((width/2) x (height/2)) grids, each straight from the model matte.
 */
export function upsampleAlpha(
  alpha: Uint8Array,
  modelWidth: number,
  modelHeight: number,
  width: number,
  height: number,
  out: AlphaPlanes,
): AlphaPlanes {
  resizeBilinear(alpha, modelWidth, modelHeight, out.y, width, height);
  resizeBilinear(alpha, modelWidth, modelHeight, out.c, width >> 1, height >> 1);
  return out;
}
