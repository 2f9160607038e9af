/**
 * Background blur without halo, by normalized convolution: blurred = blur(frame * w) / blur(w) with
 * w = 255 - alpha (background weight), so person pixels contribute nothing to the blurred background
 * around them. Runs on a coarse grid (cells of 4, 8 or 16 luma px, chosen so the blur spans about two
 * cells; one grid for Y, U and V), with three zero-padded box passes per axis approximating a
 * Gaussian, then bilinear upsampling fused with compositing (only where the matte is not fully person).
 */
import type { YuvFrame } from '../plugin-api.ts';
import { RUN_BACKGROUND, RUN_PERSON, type MatteRuns } from './matte-runs.ts';
import { axisTable, resizeBilinear, type AlphaPlanes } from './upsample-alpha.ts';
import type { YuvPlanes } from './yuv-color.ts';

/** MIN_GRID_CELL_PX is the finest blur grid cell in luma px (sets the smallest effective blur, ~6 px). */
export const MIN_GRID_CELL_PX = 4;
/** MAX_GRID_CELL_PX is the coarsest blur grid cell in luma px (used for blurRadiusPx >= 32). */
export const MAX_GRID_CELL_PX = 16;
const BOX_PASSES = 3;
// Channels per grid cell, interleaved: Y * w, U * w, V * w, w.
const CH = 4;
// Below this weight (average on the 0..255 scale) a cell has no background near it: its value is unused.
const MIN_WEIGHT = 0.01;

/**
 * boxRadiusForSigma returns the radius r (>= 1) of a box filter of width 2r + 1 whose `passes`-fold
 * repetition has about the standard deviation `sigma` (Wells 1986: width = sqrt(12 sigma^2 / passes + 1)).
 */
export function boxRadiusForSigma(sigma: number, passes = BOX_PASSES): number {
  const width = Math.sqrt((12 * sigma * sigma) / passes + 1);
  return Math.max(1, Math.round((width - 1) / 2));
}

/**
 * gridCellForSigma returns the grid cell size in luma px (4, 8 or 16) for a blur of standard deviation
 * `sigma` px: the largest power of two not above sigma / 2, so the blur spans at least two cells.
 */
export function gridCellForSigma(sigma: number): number {
  let cell = MIN_GRID_CELL_PX;
  while (cell * 2 <= MAX_GRID_CELL_PX && cell * 2 <= sigma / 2) cell *= 2;
  return cell;
}

/**
 * boxBlur4 blurs `data` (width x height cells of 4 interleaved floats) in place with `passes` box
 * filters of `radius` per axis, treating samples outside as 0 (right for normalized convolution,
 * where the weights get the same padding); `tmp` is as long as `data`, `acc` holds width * 4 values.
 */
export function boxBlur4(
  data: Float32Array,
  width: number,
  height: number,
  radius: number,
  passes: number,
  tmp: Float32Array,
  acc: Float32Array,
): void {
  const inv = 1 / (2 * radius + 1);
  const rowLen = width * 4;
  const reach = radius * 4;
  for (let pass = 0; pass < passes; pass++) {
    // Horizontal: data -> tmp, four running sums over [x - r, x + r].
    for (let y = 0; y < height; y++) {
      const o = y * rowLen;
      const end = o + rowLen;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = o, e = Math.min(o + reach + 4, end); k < e; k += 4) {
        s0 += data[k]; s1 += data[k + 1]; s2 += data[k + 2]; s3 += data[k + 3];
      }
      for (let i = o; i < end; i += 4) {
        tmp[i] = s0 * inv; tmp[i + 1] = s1 * inv; tmp[i + 2] = s2 * inv; tmp[i + 3] = s3 * inv;
        const a = i + reach + 4;
        if (a < end) { s0 += data[a]; s1 += data[a + 1]; s2 += data[a + 2]; s3 += data[a + 3]; }
        const b = i - reach;
        if (b >= o) { s0 -= data[b]; s1 -= data[b + 1]; s2 -= data[b + 2]; s3 -= data[b + 3]; }
      }
    }
    // Vertical: tmp -> data, one running sum per column, row by row (contiguous).
    acc.fill(0, 0, rowLen);
    for (let k = 0; k <= radius && k < height; k++) {
      const o = k * rowLen;
      for (let x = 0; x < rowLen; x++) acc[x] += tmp[o + x];
    }
    for (let y = 0; y < height; y++) {
      const o = y * rowLen;
      const a = (y + radius + 1) * rowLen;
      const b = (y - radius) * rowLen;
      const canAdd = y + radius + 1 < height;
      const canSub = y - radius >= 0;
      if (canAdd && canSub) {
        for (let x = 0; x < rowLen; x++) {
          const v = acc[x];
          data[o + x] = v * inv;
          acc[x] = v + tmp[a + x] - tmp[b + x];
        }
      } else {
        for (let x = 0; x < rowLen; x++) data[o + x] = acc[x] * inv;
        if (canAdd) for (let x = 0; x < rowLen; x++) acc[x] += tmp[a + x];
        if (canSub) for (let x = 0; x < rowLen; x++) acc[x] -= tmp[b + x];
      }
    }
  }
}

/** LowResBackground is the blurred background on the blur grid: three 8-bit planes of gridWidth x gridHeight. */
export interface LowResBackground {
  gridWidth: number;
  gridHeight: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

interface BlurScratch {
  cell: number;
  cells: Float32Array;
  tmp: Float32Array;
  acc: Float32Array;
  low: LowResBackground;
  rows: Uint16Array;
}

// Keyed by frame size only; contents never outlive one synchronous call, so streams can share them.
const scratchBySize = new Map<string, BlurScratch>();

function scratchFor(width: number, height: number, cell: number): BlurScratch {
  const key = `${width}x${height}/${cell}`;
  let s = scratchBySize.get(key);
  if (s !== undefined) return s;
  const gridWidth = Math.ceil(width / cell);
  const gridHeight = Math.ceil(height / cell);
  const n = gridWidth * gridHeight;
  s = {
    cell,
    cells: new Float32Array(n * CH),
    tmp: new Float32Array(n * CH),
    acc: new Float32Array(gridWidth * CH),
    low: { gridWidth, gridHeight, y: new Uint8Array(n), u: new Uint8Array(n), v: new Uint8Array(n) },
    rows: new Uint16Array(gridHeight * width),
  };
  if (scratchBySize.size >= 8) scratchBySize.clear();
  scratchBySize.set(key, s);
  return s;
}

/**
 * Fills the interleaved cells with sums of Y*w, U*w, V*w and w (w = 255 - luma alpha) from the centre
 * 2x2 luma samples of every 4x4 luma block: a 2x2 box prefilter (no aliasing of 2-px patterns) that
 * reads a quarter of the luma pixels, and whose four samples lie on the block's four distinct chroma
 * samples, so chroma is fully averaged with the matching luma weight.
 */
function accumulateCells(frame: YuvFrame, alphaY: Uint8Array, cell: number, gridWidth: number, gridHeight: number, cells: Float32Array): void {
  const { width, height, y: py, u: pu, v: pv } = frame;
  const cw = width >> 1;
  const shift = cell === 16 ? 2 : cell === 8 ? 1 : 0;
  const blocksX = Math.ceil(width / 4);
  const blocksY = Math.ceil(height / 4);
  cells.fill(0, 0, gridWidth * gridHeight * CH);
  for (let by = 0; by < blocksY; by++) {
    const y0 = by * 4 + 1 < height ? by * 4 + 1 : height - 1;
    const y1 = by * 4 + 2 < height ? by * 4 + 2 : height - 1;
    const gRow = (by >> shift) * gridWidth;
    for (let bx = 0; bx < blocksX; bx++) {
      const x0 = bx * 4 + 1 < width ? bx * 4 + 1 : width - 1;
      const x1 = bx * 4 + 2 < width ? bx * 4 + 2 : width - 1;
      const l00 = y0 * width + x0, l01 = y0 * width + x1, l10 = y1 * width + x0, l11 = y1 * width + x1;
      const c00 = (y0 >> 1) * cw + (x0 >> 1), c01 = (y0 >> 1) * cw + (x1 >> 1);
      const c10 = (y1 >> 1) * cw + (x0 >> 1), c11 = (y1 >> 1) * cw + (x1 >> 1);
      const w00 = 255 - alphaY[l00], w01 = 255 - alphaY[l01], w10 = 255 - alphaY[l10], w11 = 255 - alphaY[l11];
      const o = (gRow + (bx >> shift)) * CH;
      cells[o] += py[l00] * w00 + py[l01] * w01 + py[l10] * w10 + py[l11] * w11;
      cells[o + 1] += pu[c00] * w00 + pu[c01] * w01 + pu[c10] * w10 + pu[c11] * w11;
      cells[o + 2] += pv[c00] * w00 + pv[c01] * w01 + pv[c10] * w10 + pv[c11] * w11;
      cells[o + 3] += w00 + w01 + w10 + w11;
    }
  }
}

/**
 * maskedBlurBackground computes the blurred background of `frame` on the coarse grid (Gaussian of
 * standard deviation about `blurRadiusPx` luma px, CSS `blur()` semantics, at least ~6 px because of
 * the grid; see {@link gridCellForSigma}) from background pixels only. The result is a per-worker buffer valid until the next call.
 */
export function maskedBlurBackground(frame: YuvFrame, alpha: AlphaPlanes, blurRadiusPx: number): LowResBackground {
  const cell = gridCellForSigma(blurRadiusPx);
  const s = scratchFor(frame.width, frame.height, cell);
  const { low, cells } = s;
  const { gridWidth, gridHeight } = low;
  accumulateCells(frame, alpha.y, cell, gridWidth, gridHeight, cells);
  boxBlur4(cells, gridWidth, gridHeight, boxRadiusForSigma(blurRadiusPx / cell), BOX_PASSES, s.tmp, s.acc);
  const cw = frame.width >> 1;
  for (let gy = 0, i = 0; gy < gridHeight; gy++) {
    const ly = Math.min(gy * cell + (cell >> 1), frame.height - 1);
    for (let gx = 0; gx < gridWidth; gx++, i++) {
      const o = i * CH;
      const w = cells[o + 3];
      if (w > MIN_WEIGHT) {
        const inv = 1 / w;
        // +0.5 rounds (Uint8Array stores truncate); float rounding in the running sums can push a
        // ratio of nearly-zero sums out of 0..255, and stores wrap, so clamp.
        const y = cells[o] * inv + 0.5;
        const u = cells[o + 1] * inv + 0.5;
        const v = cells[o + 2] * inv + 0.5;
        low.y[i] = y < 0 ? 0 : y > 255 ? 255 : y;
        low.u[i] = u < 0 ? 0 : u > 255 ? 255 : u;
        low.v[i] = v < 0 ? 0 : v > 255 ? 255 : v;
      } else {
        const lx = Math.min(gx * cell + (cell >> 1), frame.width - 1);
        low.y[i] = frame.y[ly * frame.width + lx];
        low.u[i] = frame.u[(ly >> 1) * cw + (lx >> 1)];
        low.v[i] = frame.v[(ly >> 1) * cw + (lx >> 1)];
      }
    }
  }
  return low;
}

/**
 * blendPlaneWithUpsampled blends a width x height `plane` toward the bilinear upsampling of `low`
 * (gridWidth x gridHeight), computing the background only in spans the matte's `runs` do not mark as
 * person. `rows` (>= gridHeight * width values) holds the horizontally upsampled grid rows.
 */
export function blendPlaneWithUpsampled(
  plane: Uint8Array,
  width: number,
  height: number,
  alpha: Uint8Array,
  runs: MatteRuns,
  low: Uint8Array,
  gridWidth: number,
  gridHeight: number,
  rows: Uint16Array,
): void {
  const { i0: xi0, i1: xi1, w1: xw1 } = axisTable(gridWidth, width);
  const { i0: yi0, i1: yi1, w1: yw1 } = axisTable(gridHeight, height);
  // Horizontal pass on the few grid rows (values scaled by 256), then 2 reads per output pixel.
  for (let gy = 0; gy < gridHeight; gy++) {
    const s = gy * gridWidth;
    const o = gy * width;
    for (let x = 0; x < width; x++) {
      const a = low[s + xi0[x]];
      rows[o + x] = (a << 8) + (low[s + xi1[x]] - a) * xw1[x];
    }
  }
  const { rowStart, data } = runs;
  for (let y = 0; y < height; y++) {
    const r0 = yi0[y] * width;
    const r1 = yi1[y] * width;
    const wy = yw1[y];
    const wy0 = 256 - wy;
    const o = y * width;
    for (let k = rowStart[y] * 3, e = rowStart[y + 1] * 3; k < e; k += 3) {
      const kind = data[k + 2];
      if (kind === RUN_PERSON) continue;
      const xs = data[k];
      const xe = data[k + 1];
      if (kind === RUN_BACKGROUND) {
        for (let x = xs; x < xe; x++) plane[o + x] = (rows[r0 + x] * wy0 + rows[r1 + x] * wy + 32768) >> 16;
      } else {
        for (let x = xs; x < xe; x++) {
          const a = alpha[o + x];
          if (a === 255) continue;
          const bg = (rows[r0 + x] * wy0 + rows[r1 + x] * wy + 32768) >> 16;
          const v = plane[o + x] * a + bg * (255 - a) + 127;
          plane[o + x] = (v + 1 + (v >> 8)) >> 8;
        }
      }
    }
  }
}

/** compositeBlur replaces the frame's background with its halo-free blur (see {@link maskedBlurBackground}), in place. */
export function compositeBlur(frame: YuvFrame, alpha: AlphaPlanes, blurRadiusPx: number): void {
  const low = maskedBlurBackground(frame, alpha, blurRadiusPx);
  const { rows } = scratchFor(frame.width, frame.height, gridCellForSigma(blurRadiusPx));
  const cw = frame.width >> 1;
  const ch = frame.height >> 1;
  blendPlaneWithUpsampled(frame.y, frame.width, frame.height, alpha.y, alpha.yRuns, low.y, low.gridWidth, low.gridHeight, rows);
  blendPlaneWithUpsampled(frame.u, cw, ch, alpha.c, alpha.cRuns, low.u, low.gridWidth, low.gridHeight, rows);
  blendPlaneWithUpsampled(frame.v, cw, ch, alpha.c, alpha.cRuns, low.v, low.gridWidth, low.gridHeight, rows);
}

/** upsampleLowResBackground returns the low-resolution background as full-size I420 planes (for tests and previews). */
export function upsampleLowResBackground(low: LowResBackground, width: number, height: number): YuvPlanes {
  const cw = width >> 1;
  const ch = height >> 1;
  return {
    width,
    height,
    y: resizeBilinear(low.y, low.gridWidth, low.gridHeight, new Uint8Array(width * height), width, height),
    u: resizeBilinear(low.u, low.gridWidth, low.gridHeight, new Uint8Array(cw * ch), cw, ch),
    v: resizeBilinear(low.v, low.gridWidth, low.gridHeight, new Uint8Array(cw * ch), cw, ch),
  };
}
