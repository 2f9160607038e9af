/**
 * Bilinear upsampling of an 8-bit blur grid plane (see blur-grid.ts) to its full-resolution plane,
 * fused with compositing by the matte's row runs. A cell of f px (f = 4, 8 or 16) becomes f x f
 * pixels with half-pixel-centre alignment: pixel x samples grid position (x + 0.5) / f - 0.5, edges
 * clamped (the convention of upsample-alpha.ts). Both passes compute four 8-bit pixels per 32-bit
 * word (SWAR: two 16-bit lanes per multiply, 8-bit weights, no lane overflow since the weights sum
 * to 256), because per-byte JS loops over a whole frame cost several ms; only spans the matte does
 * not mark as person are produced, fully-background spans are copied natively.
 */
import { RUN_BACKGROUND, RUN_PERSON, type MatteRuns } from './matte-runs.ts';
import { axisTable } from './upsample-alpha.ts';
import type { GridPlane } from './blur-grid.ts';

// The worker thread loads this module as CommonJS (tsx's require hook), where every use of an
// imported binding is a getter call: hot loops read these module-local copies instead.
const BACKGROUND_RUN = RUN_BACKGROUND;
const PERSON_RUN = RUN_PERSON;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * CellWeights holds, per word of a cell (f / 4 words), the packed 8-bit weights of the cell's left
 * neighbour, the cell and its right neighbour: `lo` for the word's bytes 0 and 2 (as 16-bit lanes),
 * `hi` for bytes 1 and 3 (in memory order).
 */
interface CellWeights {
  words: number;
  leftLo: Int32Array;
  leftHi: Int32Array;
  midLo: Int32Array;
  midHi: Int32Array;
  rightLo: Int32Array;
  rightHi: Int32Array;
}

// Depends only on the factor, never on a stream.
const weightsByFactor = new Map<number, CellWeights>();

function cellWeights(factor: number): CellWeights {
  let t = weightsByFactor.get(factor);
  if (t !== undefined) return t;
  if (factor < 4 || factor % 4 !== 0) throw new RangeError(`upsample-grid: factor ${factor} is not a multiple of 4`);
  const words = factor / 4;
  t = {
    words,
    leftLo: new Int32Array(words), leftHi: new Int32Array(words),
    midLo: new Int32Array(words), midHi: new Int32Array(words),
    rightLo: new Int32Array(words), rightHi: new Int32Array(words),
  };
  for (let p = 0; p < words; p++) {
    for (let lane = 0; lane < 4; lane++) {
      // Bits 8 * lane of the word hold the pixel at this byte offset.
      const q = 4 * p + (LITTLE_ENDIAN ? lane : 3 - lane);
      const s = (q + 0.5) / factor - 0.5; // position relative to the cell's centre, in cells
      let left = 0, mid = 0, right = 0;
      if (s < 0) {
        mid = Math.round((1 + s) * 256);
        left = 256 - mid;
      } else {
        right = Math.round(s * 256);
        mid = 256 - right;
      }
      const shift = (lane >> 1) * 16;
      if ((lane & 1) === 0) {
        t.leftLo[p] |= left << shift; t.midLo[p] |= mid << shift; t.rightLo[p] |= right << shift;
      } else {
        t.leftHi[p] |= left << shift; t.midHi[p] |= mid << shift; t.rightHi[p] |= right << shift;
      }
    }
  }
  weightsByFactor.set(factor, t);
  return t;
}

/** wordsPerRow returns the 32-bit words holding one row of `width` 8-bit pixels. */
export function wordsPerRow(width: number): number {
  return (width + 3) >> 2;
}

/**
 * upsampleGridRows writes each grid row, upsampled horizontally by the grid's cell size to
 * `stride` words (4 px each), into `rows` (grid.height * stride words).
 */
export function upsampleGridRows(grid: GridPlane, rows: Uint32Array, stride: number): void {
  const { width: gridWidth, height: gridHeight, data, cell } = grid;
  const weights = cellWeights(cell);
  const rowLen = gridWidth + 2;
  for (let gy = 0; gy < gridHeight; gy++) {
    if (weights.words === 1) upsampleRowOneWord(data, gy * rowLen, gridWidth, weights, rows, gy * stride, stride);
    else if (weights.words === 2) upsampleRowTwoWords(data, gy * rowLen, gridWidth, weights, rows, gy * stride, stride);
    else upsampleRow(data, gy * rowLen, gridWidth, weights, rows, gy * stride, stride);
  }
}

// Cells of 4 px: one word per cell, weights in registers, the three taps slide along the row.
function upsampleRowOneWord(data: Uint8Array, r: number, gridWidth: number, t: CellWeights, rows: Uint32Array, o: number, stride: number): void {
  const ll = t.leftLo[0], lh = t.leftHi[0], ml = t.midLo[0], mh = t.midHi[0], rl = t.rightLo[0], rh = t.rightHi[0];
  const n = gridWidth < stride ? gridWidth : stride;
  let a = data[r];
  let b = data[r + 1];
  for (let gx = 0; gx < n; gx++) {
    const c = data[r + gx + 2];
    const lo = Math.imul(a, ll) + Math.imul(b, ml) + Math.imul(c, rl) + 0x00800080;
    const hi = Math.imul(a, lh) + Math.imul(b, mh) + Math.imul(c, rh) + 0x00800080;
    rows[o + gx] = ((lo >>> 8) & 0x00ff00ff) | (hi & 0xff00ff00);
    a = b;
    b = c;
  }
}

// Cells of 8 px: two words per cell, weights in registers.
function upsampleRowTwoWords(data: Uint8Array, r: number, gridWidth: number, t: CellWeights, rows: Uint32Array, o: number, stride: number): void {
  const ll0 = t.leftLo[0], lh0 = t.leftHi[0], ml0 = t.midLo[0], mh0 = t.midHi[0], rl0 = t.rightLo[0], rh0 = t.rightHi[0];
  const ll1 = t.leftLo[1], lh1 = t.leftHi[1], ml1 = t.midLo[1], mh1 = t.midHi[1], rl1 = t.rightLo[1], rh1 = t.rightHi[1];
  const n = gridWidth < stride >> 1 ? gridWidth : stride >> 1;
  let a = data[r];
  let b = data[r + 1];
  for (let gx = 0; gx < n; gx++) {
    const c = data[r + gx + 2];
    const lo0 = Math.imul(a, ll0) + Math.imul(b, ml0) + Math.imul(c, rl0) + 0x00800080;
    const hi0 = Math.imul(a, lh0) + Math.imul(b, mh0) + Math.imul(c, rh0) + 0x00800080;
    const lo1 = Math.imul(a, ll1) + Math.imul(b, ml1) + Math.imul(c, rl1) + 0x00800080;
    const hi1 = Math.imul(a, lh1) + Math.imul(b, mh1) + Math.imul(c, rh1) + 0x00800080;
    rows[o + 2 * gx] = ((lo0 >>> 8) & 0x00ff00ff) | (hi0 & 0xff00ff00);
    rows[o + 2 * gx + 1] = ((lo1 >>> 8) & 0x00ff00ff) | (hi1 & 0xff00ff00);
    a = b;
    b = c;
  }
  // An odd stride ends halfway through a cell.
  if (n < gridWidth && 2 * n < stride) {
    const lo0 = Math.imul(a, ll0) + Math.imul(b, ml0) + Math.imul(data[r + n + 2], rl0) + 0x00800080;
    const hi0 = Math.imul(a, lh0) + Math.imul(b, mh0) + Math.imul(data[r + n + 2], rh0) + 0x00800080;
    rows[o + 2 * n] = ((lo0 >>> 8) & 0x00ff00ff) | (hi0 & 0xff00ff00);
  }
}

function upsampleRow(data: Uint8Array, r: number, gridWidth: number, t: CellWeights, rows: Uint32Array, o: number, stride: number): void {
  const { words, leftLo, leftHi, midLo, midHi, rightLo, rightHi } = t;
  const oEnd = o + stride;
  let j = o;
  for (let gx = 0; gx < gridWidth && j < oEnd; gx++) {
    const a = data[r + gx];
    const b = data[r + gx + 1];
    const c = data[r + gx + 2];
    for (let p = 0; p < words && j < oEnd; p++, j++) {
      const lo = Math.imul(a, leftLo[p]) + Math.imul(b, midLo[p]) + Math.imul(c, rightLo[p]) + 0x00800080;
      const hi = Math.imul(a, leftHi[p]) + Math.imul(b, midHi[p]) + Math.imul(c, rightHi[p]) + 0x00800080;
      rows[j] = ((lo >>> 8) & 0x00ff00ff) | (hi & 0xff00ff00);
    }
  }
}

/**
 * lerpWords sets out[offset + j] for j in [from, to) to the per-byte blend of rows[r0 + j] and
 * rows[r1 + j] with 8-bit weights (256 - w, w), rounded.
 */
function lerpWords(rows: Uint32Array, r0: number, r1: number, w: number, out: Uint32Array, offset: number, from: number, to: number): void {
  const w0 = 256 - w;
  for (let j = from; j < to; j++) {
    const a = rows[r0 + j];
    const b = rows[r1 + j];
    const lo = Math.imul(a & 0x00ff00ff, w0) + Math.imul(b & 0x00ff00ff, w) + 0x00800080;
    const hi = Math.imul((a >>> 8) & 0x00ff00ff, w0) + Math.imul((b >>> 8) & 0x00ff00ff, w) + 0x00800080;
    out[offset + j] = ((lo >>> 8) & 0x00ff00ff) | (hi & 0xff00ff00);
  }
}

/**
 * blendPlaneWithGridRows blends a width x height `plane` toward the grid plane upsampled by `cell`
 * px (its horizontally upsampled rows from {@link upsampleGridRows}: gridHeight rows of `stride`
 * words) following the matte `alpha` and its `runs`: background spans are replaced, edge spans
 * blended (out = round((fg * a + bg * (255 - a)) / 255)), person spans left alone. `line` holds
 * `stride` words, `lineBytes` is its byte view. When the plane's rows are word-aligned, background
 * spans are written a word at a time straight into the plane.
 */
export function blendPlaneWithGridRows(
  plane: Uint8Array,
  width: number,
  height: number,
  alpha: Uint8Array,
  runs: MatteRuns,
  rows: Uint32Array,
  stride: number,
  gridHeight: number,
  cell: number,
  line: Uint32Array,
  lineBytes: Uint8Array,
): void {
  const { i0, i1, w1 } = axisTable(gridHeight, gridHeight * cell);
  const { rowStart, data } = runs;
  const aligned = (plane.byteOffset & 3) === 0 && (width & 3) === 0;
  const words = aligned ? new Uint32Array(plane.buffer, plane.byteOffset, plane.length >> 2) : line;
  for (let y = 0; y < height; y++) {
    const r0 = i0[y] * stride;
    const r1 = i1[y] * stride;
    const w = w1[y];
    const o = y * width;
    for (let k = rowStart[y] * 3, e = rowStart[y + 1] * 3; k < e; k += 3) {
      const kind = data[k + 2];
      if (kind === PERSON_RUN) continue;
      const xs = data[k];
      const xe = data[k + 1];
      const first = (xs + 3) >> 2;
      const last = xe >> 2;
      if (kind === BACKGROUND_RUN && aligned && first < last) {
        lerpWords(rows, r0, r1, w, words, o >> 2, first, last);
        if ((xs & 3) !== 0) {
          lerpWords(rows, r0, r1, w, line, 0, first - 1, first);
          for (let x = xs; x < first << 2; x++) plane[o + x] = lineBytes[x];
        }
        if ((xe & 3) !== 0) {
          lerpWords(rows, r0, r1, w, line, 0, last, last + 1);
          for (let x = last << 2; x < xe; x++) plane[o + x] = lineBytes[x];
        }
        continue;
      }
      lerpWords(rows, r0, r1, w, line, 0, xs >> 2, (xe + 3) >> 2);
      if (kind === BACKGROUND_RUN) {
        plane.set(lineBytes.subarray(xs, xe), o + xs);
      } else {
        for (let x = xs; x < xe; x++) {
          const a = alpha[o + x];
          if (a === 255) continue;
          const v = plane[o + x] * a + lineBytes[x] * (255 - a) + 127;
          plane[o + x] = (v + 1 + (v >> 8)) >> 8;
        }
      }
    }
  }
}
