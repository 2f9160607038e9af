/**
 * Separable bilinear resampling of 8-bit planes (mattes and low-resolution backgrounds) with
 * half-pixel-centre alignment (the convention of ffmpeg/sharp/OpenCV `INTER_LINEAR`):
 * destination pixel d samples source position (d + 0.5) * src / dst - 0.5, clamped to the edges.
 * Integer math only, 8-bit fractional weights. Mattes are mostly flat, so {@link upsampleMatte}
 * fills flat spans natively and interpolates per pixel only near edges.
 */
import { beginRow, createMatteRuns, pushRun, RUN_BACKGROUND, RUN_EDGE, RUN_PERSON, type MatteRuns } from './matte-runs.ts';

/** AxisTable maps each destination index to its two source taps and the 8-bit weight (0..256) of the second. */
export interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w1: Int32Array;
  /** firstAtOrAfter[a]: first destination index whose first tap is >= a (dstLen if none); length srcLen + 1. */
  firstAtOrAfter: Int32Array;
  /** endWithin[b]: one past the last destination index whose second tap is <= b; length srcLen. */
  endWithin: Int32Array;
}

// Tables depend only on (srcLen, dstLen), never on a stream, so one per-worker cache is safe.
const axisTables = new Map<string, AxisTable>();

/** axisTable returns the cached bilinear tap table for resampling srcLen samples to dstLen. */
export function axisTable(srcLen: number, dstLen: number): AxisTable {
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
    w1[d] = i1[d] === a ? 0 : w;
  }
  const firstAtOrAfter = new Int32Array(srcLen + 1);
  for (let a = 0, d = 0; a <= srcLen; a++) {
    while (d < dstLen && i0[d] < a) d++;
    firstAtOrAfter[a] = d;
  }
  const endWithin = new Int32Array(srcLen);
  for (let b = 0, d = 0; b < srcLen; b++) {
    while (d < dstLen && i1[d] <= b) d++;
    endWithin[b] = d;
  }
  table = { i0, i1, w1, firstAtOrAfter, endWithin };
  if (axisTables.size > 64) axisTables.clear();
  axisTables.set(key, table);
  return table;
}

// Scratch rows of the horizontal pass, reused across calls (contents never outlive one call).
let scratch = new Uint16Array(0);

/**
 * resizeBilinear resamples the 8-bit plane `src` (srcWidth x srcHeight, stride = width) into `dst`
 * (dstWidth x dstHeight) per pixel and returns `dst` (reference path; any content, any size).
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
  const { i0: xi0, i1: xi1, w1: xw1 } = axisTable(srcWidth, dstWidth);
  const { i0: yi0, i1: yi1, w1: yw1 } = axisTable(srcHeight, dstHeight);
  const needed = srcHeight * dstWidth;
  if (scratch.length < needed) scratch = new Uint16Array(needed);
  const rows = scratch;

  // Horizontal pass on every source row: values scaled by 256 (0..65280).
  for (let y = 0; y < srcHeight; y++) {
    const s = y * srcWidth;
    const o = y * dstWidth;
    for (let x = 0; x < dstWidth; x++) {
      const a = src[s + xi0[x]];
      rows[o + x] = (a << 8) + (src[s + xi1[x]] - a) * xw1[x];
    }
  }

  // Vertical pass: combine two scaled rows, remove both 8-bit scales with rounding.
  for (let y = 0; y < dstHeight; y++) {
    const r0 = yi0[y] * dstWidth;
    const r1 = yi1[y] * dstWidth;
    const w = yw1[y];
    const w0 = 256 - w;
    const o = y * dstWidth;
    for (let x = 0; x < dstWidth; x++) dst[o + x] = (rows[r0 + x] * w0 + rows[r1 + x] * w + 32768) >> 16;
  }
  return dst;
}

/**
 * upsampleMatte resamples `src` into `dst` exactly like {@link resizeBilinear}, but fills spans where
 * both source rows are flat with `fill` and records each destination row's spans in `runs`
 * (background: all 0, person: all 255, edge: anything else). Returns `runs`.
 */
export function upsampleMatte(
  src: Uint8Array,
  srcWidth: number,
  srcHeight: number,
  dst: Uint8Array,
  dstWidth: number,
  dstHeight: number,
  runs: MatteRuns = createMatteRuns(dstHeight),
): MatteRuns {
  if (src.length < srcWidth * srcHeight) throw new RangeError(`upsampleMatte: src has ${src.length} bytes, expected ${srcWidth * srcHeight}`);
  if (dst.length < dstWidth * dstHeight) throw new RangeError(`upsampleMatte: dst has ${dst.length} bytes, expected ${dstWidth * dstHeight}`);
  if (runs.height !== dstHeight) throw new RangeError(`upsampleMatte: runs are for ${runs.height} rows, expected ${dstHeight}`);
  const tx = axisTable(srcWidth, dstWidth);
  const { i0: xi0, i1: xi1, w1: xw1, firstAtOrAfter, endWithin } = tx;
  const { i0: yi0, i1: yi1, w1: yw1 } = axisTable(srcHeight, dstHeight);
  // Flat intervals [a, b] of the current source row pair, as (a, b) pairs.
  const flat = flatScratch(srcWidth);
  let flatCount = 0;
  let pairR0 = -1;
  let pairR1 = -1;

  for (let y = 0; y < dstHeight; y++) {
    const r0 = yi0[y];
    const r1 = yi1[y];
    const s0 = r0 * srcWidth;
    const s1 = r1 * srcWidth;
    if (r0 !== pairR0 || r1 !== pairR1) {
      pairR0 = r0;
      pairR1 = r1;
      flatCount = 0;
      let a = 0;
      for (let x = 1; x <= srcWidth; x++) {
        if (x === srcWidth || src[s0 + x] !== src[s0 + a] || src[s1 + x] !== src[s1 + a]) {
          flat[flatCount++] = a;
          flat[flatCount++] = x - 1;
          a = x;
        }
      }
    }
    const wy = yw1[y];
    const wy0 = 256 - wy;
    const o = y * dstWidth;
    beginRow(runs, y);
    let cursor = 0;
    for (let k = 0; k <= flatCount; k += 2) {
      // k === flatCount closes the row with its last gap.
      const xs = k < flatCount ? firstAtOrAfter[flat[k]] : dstWidth;
      const xe = k < flatCount ? endWithin[flat[k + 1]] : dstWidth;
      if (k < flatCount && xe <= xs) continue;
      if (cursor < xs) {
        for (let x = cursor; x < xs; x++) {
          const a0 = src[s0 + xi0[x]];
          const a1 = src[s1 + xi0[x]];
          const wx = xw1[x];
          const h0 = (a0 << 8) + (src[s0 + xi1[x]] - a0) * wx;
          const h1 = (a1 << 8) + (src[s1 + xi1[x]] - a1) * wx;
          dst[o + x] = (h0 * wy0 + h1 * wy + 32768) >> 16;
        }
        pushRun(runs, y, cursor, xs, RUN_EDGE);
      }
      if (k < flatCount) {
        const value = (src[s0 + flat[k]] * wy0 + src[s1 + flat[k]] * wy + 128) >> 8;
        dst.fill(value, o + xs, o + xe);
        pushRun(runs, y, xs, xe, value === 0 ? RUN_BACKGROUND : value === 255 ? RUN_PERSON : RUN_EDGE);
        cursor = xe;
      }
    }
  }
  return runs;
}

let flatBuffer = new Int32Array(0);
function flatScratch(srcWidth: number): Int32Array {
  if (flatBuffer.length < srcWidth * 2 + 2) flatBuffer = new Int32Array(srcWidth * 2 + 2);
  return flatBuffer;
}

/** AlphaPlanes holds a matte (0..255, 255 = person) at luma (`y`) and chroma (`c`) resolution with their row runs. */
export interface AlphaPlanes {
  y: Uint8Array;
  c: Uint8Array;
  yRuns: MatteRuns;
  cRuns: MatteRuns;
}

/** createAlphaPlanes allocates alpha planes and runs for a width x height frame. */
export function createAlphaPlanes(width: number, height: number): AlphaPlanes {
  return {
    y: new Uint8Array(width * height),
    c: new Uint8Array((width >> 1) * (height >> 1)),
    yRuns: createMatteRuns(height),
    cRuns: createMatteRuns(height >> 1),
  };
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
  upsampleMatte(alpha, modelWidth, modelHeight, out.y, width, height, out.yRuns);
  upsampleMatte(alpha, modelWidth, modelHeight, out.c, width >> 1, height >> 1, out.cRuns);
  return out;
}
