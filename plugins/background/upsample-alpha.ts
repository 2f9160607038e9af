/**
 * Separable bilinear resampling of 8-bit planes (mattes and low-resolution backgrounds) with
 * half-pixel-centre alignment (the convention of ffmpeg/sharp/OpenCV `INTER_LINEAR`):
 * destination pixel d samples source position (d + 0.5) * src / dst - 0.5, clamped to the edges.
 * Integer math only, 8-bit fractional weights. Mattes are mostly flat, so {@link upsampleMatte}
 * fills flat spans natively and interpolates per pixel only near edges.
 */
import { beginRow, createMatteRuns, pushRun, RUN_BACKGROUND, RUN_EDGE, RUN_PERSON, type MatteRuns } from './matte-runs.ts';

// The worker thread loads this module as CommonJS (tsx's require hook), where every use of an
// imported binding is a getter call: hot loops read these module-local copies instead.
const BACKGROUND_RUN = RUN_BACKGROUND;
const PERSON_RUN = RUN_PERSON;
const EDGE_RUN = RUN_EDGE;

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
 * MatteChanges lists, per source row r of a matte, the columns x (1..width-1) where the value differs
 * from column x - 1: `x[r * width + k]` for k < `count[r]`. Computed once per matte, it gives every
 * row pair's flat intervals to both the luma and the chroma upsampling without rescanning the matte.
 */
interface MatteChanges {
  width: number;
  count: Int32Array;
  x: Int32Array;
}

// Scratch of one call (contents never outlive it), grown on demand.
const changes: MatteChanges = { width: 0, count: new Int32Array(0), x: new Int32Array(0) };
let flatBuffer = new Int32Array(0);

// The worker passes the same matte buffer every frame, so its word view is kept rather than re-made.
let words32: Uint32Array = new Uint32Array(0);

function wordView(src: Uint8Array, length: number): Uint32Array {
  if (words32.buffer !== src.buffer || words32.byteOffset !== src.byteOffset || words32.length !== length) {
    words32 = new Uint32Array(src.buffer, src.byteOffset, length);
  }
  return words32;
}

/** findChanges fills the shared {@link MatteChanges} for `src` (srcWidth x srcHeight) and returns it. */
function findChanges(src: Uint8Array, srcWidth: number, srcHeight: number): MatteChanges {
  if (changes.count.length < srcHeight) changes.count = new Int32Array(srcHeight);
  if (changes.x.length < srcWidth * srcHeight) changes.x = new Int32Array(srcWidth * srcHeight);
  changes.width = srcWidth;
  const { count, x: xs } = changes;
  // Mattes are mostly flat: compare four pixels per 32-bit word with the previous pixel repeated
  // (byte order does not matter for that test) and look at single bytes only in words that differ.
  const words = (src.byteOffset & 3) === 0 && (srcWidth & 3) === 0 ? wordView(src, (srcWidth * srcHeight) >> 2) : undefined;
  for (let r = 0; r < srcHeight; r++) {
    const s = r * srcWidth;
    let n = 0;
    let prev = src[s];
    if (words !== undefined) {
      for (let j = s >> 2, e = (s + srcWidth) >> 2; j < e; j++) {
        if (words[j] === (Math.imul(prev, 0x01010101) >>> 0)) continue;
        for (let i = j << 2, ie = i + 4; i < ie; i++) {
          const v = src[i];
          if (v !== prev) xs[s + n++] = i - s;
          prev = v;
        }
      }
    } else {
      for (let x = 1; x < srcWidth; x++) {
        const v = src[s + x];
        if (v !== prev) xs[s + n++] = x;
        prev = v;
      }
    }
    count[r] = n;
  }
  return changes;
}

/**
 * flatIntervals writes the flat intervals [a, b] (both source rows r0 and r1 constant) as (a, b)
 * pairs into `flat` by merging the two rows' change columns; returns the number of values written.
 */
function flatIntervals(c: MatteChanges, r0: number, r1: number, flat: Int32Array): number {
  const { width, count, x } = c;
  let p = r0 * width;
  const pe = p + count[r0];
  let q = r1 * width;
  const qe = r0 === r1 ? q : q + count[r1];
  let n = 0;
  let a = 0;
  while (p < pe || q < qe) {
    let b: number;
    if (q >= qe || (p < pe && x[p] < x[q])) b = x[p++];
    else if (p >= pe || x[q] < x[p]) b = x[q++];
    else { b = x[p++]; q++; }
    flat[n++] = a;
    flat[n++] = b - 1;
    a = b;
  }
  flat[n++] = a;
  flat[n++] = width - 1;
  return n;
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
  upsampleWithChanges(src, srcWidth, srcHeight, findChanges(src, srcWidth, srcHeight), dst, dstWidth, dstHeight, runs);
  return runs;
}

function upsampleWithChanges(
  src: Uint8Array,
  srcWidth: number,
  srcHeight: number,
  c: MatteChanges,
  dst: Uint8Array,
  dstWidth: number,
  dstHeight: number,
  runs: MatteRuns,
): void {
  const { i0: xi0, w1: xw1, firstAtOrAfter, endWithin } = axisTable(srcWidth, dstWidth);
  const { i0: yi0, i1: yi1, w1: yw1 } = axisTable(srcHeight, dstHeight);
  if (flatBuffer.length < srcWidth * 2 + 2) flatBuffer = new Int32Array(srcWidth * 2 + 2);
  const flat = flatBuffer;
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
      flatCount = flatIntervals(c, r0, r1, flat);
    }
    const wy = yw1[y];
    const wy0 = 256 - wy;
    const o = y * dstWidth;
    // One span per flat interval and per gap between them; pushRun merges adjacent spans of one kind.
    beginRow(runs, y);
    let cursor = 0;
    for (let k = 0; k <= flatCount; k += 2) {
      // k === flatCount closes the row with its last gap.
      const xs = k < flatCount ? firstAtOrAfter[flat[k]] : dstWidth;
      const xe = k < flatCount ? endWithin[flat[k + 1]] : dstWidth;
      if (k < flatCount && xe <= xs) continue;
      if (cursor < xs) {
        // Per source interval [i, i + 1] the gap covers: its two vertically interpolated taps (scaled
        // by 256), then one multiply per pixel. The same four weighted taps, rounded once, as resizeBilinear.
        let i = xi0[cursor];
        let right = src[s0 + i] * wy0 + src[s1 + i] * wy;
        for (let x = cursor; x < xs; i++) {
          const left = right;
          const j = i + 1 < srcWidth ? i + 1 : i;
          right = src[s0 + j] * wy0 + src[s1 + j] * wy;
          const base = (left << 8) + 32768;
          const slope = right - left;
          const end = firstAtOrAfter[i + 1] < xs ? firstAtOrAfter[i + 1] : xs;
          for (; x < end; x++) dst[o + x] = (base + slope * xw1[x]) >> 16;
        }
        pushRun(runs, y, cursor, xs, EDGE_RUN);
      }
      if (k < flatCount) {
        const value = (src[s0 + flat[k]] * wy0 + src[s1 + flat[k]] * wy + 128) >> 8;
        dst.fill(value, o + xs, o + xe);
        pushRun(runs, y, xs, xe, value === 0 ? BACKGROUND_RUN : value === 255 ? PERSON_RUN : EDGE_RUN);
        cursor = xe;
      }
    }
  }
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
 * (width x height) and chroma ((width/2) x (height/2)) grids, each straight from the model matte;
 * throws RangeError when `out` is not for that size.
 */
export function upsampleAlpha(
  alpha: Uint8Array,
  modelWidth: number,
  modelHeight: number,
  width: number,
  height: number,
  out: AlphaPlanes,
): AlphaPlanes {
  if (alpha.length < modelWidth * modelHeight) throw new RangeError(`upsampleAlpha: alpha has ${alpha.length} bytes, expected ${modelWidth * modelHeight}`);
  if (out.y.length < width * height || out.yRuns.height !== height) throw new RangeError(`upsampleAlpha: luma planes are not for ${width}x${height}`);
  if (out.c.length < (width >> 1) * (height >> 1) || out.cRuns.height !== height >> 1) throw new RangeError(`upsampleAlpha: chroma planes are not for ${width}x${height}`);
  // Both grids read the same row pairs of the matte, so its change columns are found once.
  const c = findChanges(alpha, modelWidth, modelHeight);
  upsampleWithChanges(alpha, modelWidth, modelHeight, c, out.y, width, height, out.yRuns);
  upsampleWithChanges(alpha, modelWidth, modelHeight, c, out.c, width >> 1, height >> 1, out.cRuns);
  return out;
}
