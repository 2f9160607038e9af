/**
 * Background blur without halo, by normalized convolution: blurred = blur(frame * w) / blur(w) with
 * w = 255 - alpha (background weight), so person pixels contribute nothing to the blurred background
 * around them. Runs on coarse grids (blur-grid.ts): luma on cells of 4, 8 or 16 luma px weighted by the
 * luma matte, U and V on cells of as many chroma px weighted by the chroma matte, fed by sparse 2x2
 * samples and blurred with zero padding; then bilinear upsampling four pixels per word, fused with
 * compositing by the matte's runs (upsample-grid.ts). Synchronous; scratch buffers are per worker
 * thread and keyed by size, so no pixels outlive a call.
 */
import type { YuvFrame } from '../plugin-api.ts';
import {
  accumulateCells,
  blurGridPlane,
  createGridPlane,
  gridCellForSigma,
  normalizeCells,
  type GridPlane,
} from './blur-grid.ts';
import { fullRowRuns, RUN_BACKGROUND } from './matte-runs.ts';
import { blendPlaneWithGridRows, upsampleGridRows, wordsPerRow } from './upsample-grid.ts';
import type { AlphaPlanes } from './upsample-alpha.ts';
import type { YuvPlanes } from '../yuv-color.ts';

// The worker thread loads this module as CommonJS (tsx's require hook), where every use of an
// imported binding is a getter call: hot loops read these module-local copies instead.
const BACKGROUND_RUN = RUN_BACKGROUND;

/** LowResBackground is the blurred background on the blur grids: Y on the luma grid, U and V on the chroma grid. */
export interface LowResBackground {
  y: GridPlane;
  u: GridPlane;
  v: GridPlane;
}

/**
 * blurCells returns the grid cell sizes for a blur of `blurRadiusPx` luma px: `luma` in luma px (see
 * {@link gridCellForSigma}: the blur spans at least two cells) and `chroma` in chroma px, the same
 * number, so a chroma cell covers twice the luma cell's width and the chroma blur (blurRadiusPx / 2
 * chroma px) spans one to two cells (at least one: a floor of 8 luma px for radii below 16). Colour
 * detail is less visible than luma detail, and this chroma grid costs a quarter of one at luma's size.
 */
export function blurCells(blurRadiusPx: number): { luma: number; chroma: number } {
  const cell = gridCellForSigma(blurRadiusPx);
  return { luma: cell, chroma: cell };
}

/**
 * LUMA_MIN_SIGMA_CELLS is the smallest luma grid blur in cells (sqrt 2, as three 3-wide box passes
 * gave before): with samples every 4 px, a lighter blur leaves moire on 5-px stripes.
 */
const LUMA_MIN_SIGMA_CELLS = Math.SQRT2;

interface BlurScratch {
  low: LowResBackground;
  sumsA: Float64Array;
  sumsB: Float64Array;
  weights: Float64Array;
  tmp: Float64Array;
  acc: Float64Array;
  /** Horizontally upsampled grid rows, one plane at a time. */
  rows: Uint32Array;
  line: Uint32Array;
  lineBytes: Uint8Array;
}

// Keyed by frame size and cells only; contents never outlive one synchronous call, so streams can share them.
const scratchBySize = new Map<string, BlurScratch>();

function scratchFor(width: number, height: number, lumaCell: number, chromaCell: number): BlurScratch {
  const key = `${width}x${height}/${lumaCell}/${chromaCell}`;
  let s = scratchBySize.get(key);
  if (s !== undefined) return s;
  const cw = width >> 1;
  const ch = height >> 1;
  const y = createGridPlane(width, height, lumaCell);
  const u = createGridPlane(cw, ch, chromaCell);
  const v = createGridPlane(cw, ch, chromaCell);
  const cells = Math.max(y.width * y.height, u.width * u.height);
  const stride = wordsPerRow(width);
  const line = new Uint32Array(stride);
  s = {
    low: { y, u, v },
    sumsA: new Float64Array(cells),
    sumsB: new Float64Array(cells),
    weights: new Float64Array(cells),
    tmp: new Float64Array(cells),
    acc: new Float64Array(Math.max(y.width, u.width)),
    rows: new Uint32Array(Math.max(y.height * stride, u.height * wordsPerRow(cw))),
    line,
    lineBytes: new Uint8Array(line.buffer),
  };
  if (scratchBySize.size >= 8) scratchBySize.clear();
  scratchBySize.set(key, s);
  return s;
}

function blurGrid(s: BlurScratch, grid: GridPlane, sigmaCells: number, data: Float64Array): void {
  blurGridPlane(data, grid.width, grid.height, sigmaCells, s.tmp, s.acc);
}

/**
 * maskedBlurBackground computes the blurred background of `frame` on the blur grids (Gaussian of
 * standard deviation about `blurRadiusPx` luma px, CSS `blur()` semantics, at least ~6 px because of
 * the grid; see {@link blurCells}) from background pixels only. The result is a per-worker buffer
 * valid until the next call.
 */
export function maskedBlurBackground(frame: YuvFrame, alpha: AlphaPlanes, blurRadiusPx: number): LowResBackground {
  const { width, height } = frame;
  const cells = blurCells(blurRadiusPx);
  const s = scratchFor(width, height, cells.luma, cells.chroma);
  const { low, sumsA, sumsB, weights } = s;
  const lumaSigma = Math.max(blurRadiusPx / low.y.cell, LUMA_MIN_SIGMA_CELLS);
  accumulateCells(frame.y, alpha.y, width, height, low.y, sumsA, weights);
  blurGrid(s, low.y, lumaSigma, sumsA);
  blurGrid(s, low.y, lumaSigma, weights);
  normalizeCells(sumsA, weights, frame.y, width, height, low.y);
  const cw = width >> 1;
  const ch = height >> 1;
  const chromaSigma = blurRadiusPx / 2 / low.u.cell;
  // U and V share the chroma matte: the second call rewrites `weights` with the same values.
  accumulateCells(frame.u, alpha.c, cw, ch, low.u, sumsA, weights);
  accumulateCells(frame.v, alpha.c, cw, ch, low.u, sumsB, weights);
  blurGrid(s, low.u, chromaSigma, sumsA);
  blurGrid(s, low.u, chromaSigma, sumsB);
  blurGrid(s, low.u, chromaSigma, weights);
  normalizeCells(sumsA, weights, frame.u, cw, ch, low.u);
  normalizeCells(sumsB, weights, frame.v, cw, ch, low.v);
  return low;
}

/** compositeBlur replaces the frame's background with its halo-free blur (see {@link maskedBlurBackground}), in place. */
export function compositeBlur(frame: YuvFrame, alpha: AlphaPlanes, blurRadiusPx: number): void {
  const low = maskedBlurBackground(frame, alpha, blurRadiusPx);
  const cells = blurCells(blurRadiusPx);
  const s = scratchFor(frame.width, frame.height, cells.luma, cells.chroma);
  const cw = frame.width >> 1;
  const ch = frame.height >> 1;
  blendPlaneWithGrid(s, low.y, frame.y, frame.width, frame.height, alpha.y, alpha.yRuns);
  blendPlaneWithGrid(s, low.u, frame.u, cw, ch, alpha.c, alpha.cRuns);
  blendPlaneWithGrid(s, low.v, frame.v, cw, ch, alpha.c, alpha.cRuns);
}

function blendPlaneWithGrid(
  s: BlurScratch,
  grid: GridPlane,
  plane: Uint8Array,
  width: number,
  height: number,
  alpha: Uint8Array,
  runs: AlphaPlanes['yRuns'],
): void {
  const stride = wordsPerRow(width);
  upsampleGridRows(grid, s.rows, stride);
  blendPlaneWithGridRows(plane, width, height, alpha, runs, s.rows, stride, grid.height, grid.cell, s.line, s.lineBytes);
}

/** upsampleLowResBackground returns the low-resolution background as full-size I420 planes (for tests and previews; allocates). */
export function upsampleLowResBackground(low: LowResBackground, width: number, height: number): YuvPlanes {
  const cw = width >> 1;
  const ch = height >> 1;
  const upsample = (grid: GridPlane, w: number, h: number): Uint8Array => {
    const stride = wordsPerRow(w);
    const rows = new Uint32Array(grid.height * stride);
    const line = new Uint32Array(stride);
    const out = new Uint8Array(w * h);
    upsampleGridRows(grid, rows, stride);
    blendPlaneWithGridRows(out, w, h, out, fullRowRuns(w, h, BACKGROUND_RUN), rows, stride, grid.height, grid.cell, line, new Uint8Array(line.buffer));
    return out;
  };
  return { width, height, y: upsample(low.y, width, height), u: upsample(low.u, cw, ch), v: upsample(low.v, cw, ch) };
}
