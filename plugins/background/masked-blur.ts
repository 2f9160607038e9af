/**
 * Background blur without halo, by normalized convolution: blurred = blur(frame * w) / blur(w) with
 * w = 255 - alpha (background weight), so person pixels contribute nothing to the blurred background
 * around them. Runs on a grid of 1/4 luma size (1/2 chroma size; the same grid for Y, U and V), with
 * three zero-padded box passes per axis approximating a Gaussian, then bilinear upsampling.
 */
import type { YuvFrame } from '../plugin-api.ts';
import type { AlphaPlanes } from './upsample-alpha.ts';
import { resizeBilinear } from './upsample-alpha.ts';
import type { YuvPlanes } from './yuv-color.ts';

/** Luma pixels per low-resolution grid cell along each axis. */
export const BLUR_GRID_FACTOR = 4;
const BOX_PASSES = 3;
// Below this summed weight (on the 0..255 scale) a cell has no background near it: its value is unused.
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
 * boxBlurZeroPadded blurs the float plane `data` (width x height) in place with `passes` box filters
 * of radius `radius` per axis, treating samples outside the plane as 0 (right for normalized
 * convolution, where the weights get the same padding); `tmp` must hold width * height values.
 */
export function boxBlurZeroPadded(
  data: Float32Array,
  width: number,
  height: number,
  radius: number,
  passes: number,
  tmp: Float32Array,
  acc: Float64Array,
): void {
  const inv = 1 / (2 * radius + 1);
  for (let pass = 0; pass < passes; pass++) {
    // Horizontal: data -> tmp, running sum over [x - r, x + r].
    for (let y = 0; y < height; y++) {
      const o = y * width;
      let s = 0;
      for (let k = 0; k <= radius && k < width; k++) s += data[o + k];
      for (let x = 0; x < width; x++) {
        tmp[o + x] = s * inv;
        const add = x + radius + 1;
        if (add < width) s += data[o + add];
        const sub = x - radius;
        if (sub >= 0) s -= data[o + sub];
      }
    }
    // Vertical: tmp -> data, one running sum per column, row by row (cache friendly).
    acc.fill(0, 0, width);
    for (let k = 0; k <= radius && k < height; k++) {
      const o = k * width;
      for (let x = 0; x < width; x++) acc[x] += tmp[o + x];
    }
    for (let y = 0; y < height; y++) {
      const o = y * width;
      for (let x = 0; x < width; x++) data[o + x] = acc[x] * inv;
      const add = y + radius + 1;
      if (add < height) {
        const a = add * width;
        for (let x = 0; x < width; x++) acc[x] += tmp[a + x];
      }
      const sub = y - radius;
      if (sub >= 0) {
        const b = sub * width;
        for (let x = 0; x < width; x++) acc[x] -= tmp[b + x];
      }
    }
  }
}

/** Low-resolution working buffers for one frame size. */
interface BlurScratch {
  gridWidth: number;
  gridHeight: number;
  numY: Float32Array;
  denY: Float32Array;
  numU: Float32Array;
  numV: Float32Array;
  denC: Float32Array;
  tmp: Float32Array;
  acc: Float64Array;
  lowY: Uint8Array;
  lowU: Uint8Array;
  lowV: Uint8Array;
}

// Keyed by frame size only; contents never outlive one synchronous call, so streams can share them.
const scratchBySize = new Map<string, BlurScratch>();

function scratchFor(width: number, height: number): BlurScratch {
  const key = `${width}x${height}`;
  let s = scratchBySize.get(key);
  if (s !== undefined) return s;
  const gridWidth = Math.ceil(width / BLUR_GRID_FACTOR);
  const gridHeight = Math.ceil(height / BLUR_GRID_FACTOR);
  const n = gridWidth * gridHeight;
  s = {
    gridWidth, gridHeight,
    numY: new Float32Array(n), denY: new Float32Array(n),
    numU: new Float32Array(n), numV: new Float32Array(n), denC: new Float32Array(n),
    tmp: new Float32Array(n), acc: new Float64Array(gridWidth),
    lowY: new Uint8Array(n), lowU: new Uint8Array(n), lowV: new Uint8Array(n),
  };
  if (scratchBySize.size >= 4) scratchBySize.clear();
  scratchBySize.set(key, s);
  return s;
}

/** Sums plane * (255 - alpha) and (255 - alpha) over `cell` x `cell` blocks into num/den (grid stride gridWidth). */
function accumulateCells(
  plane: Uint8Array,
  alpha: Uint8Array,
  width: number,
  height: number,
  cell: number,
  gridWidth: number,
  num: Float32Array,
  den: Float32Array,
  num2?: Float32Array,
  plane2?: Uint8Array,
): void {
  num.fill(0);
  den.fill(0);
  if (num2 !== undefined) num2.fill(0);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const g = ((y / cell) | 0) * gridWidth;
    for (let gx = 0, x0 = 0; gx < gridWidth; gx++, x0 += cell) {
      const x1 = x0 + cell < width ? x0 + cell : width;
      let s = 0;
      let d = 0;
      let s2 = 0;
      if (plane2 === undefined) {
        for (let i = row + x0, e = row + x1; i < e; i++) {
          const w = 255 - alpha[i];
          s += plane[i] * w;
          d += w;
        }
      } else {
        for (let i = row + x0, e = row + x1; i < e; i++) {
          const w = 255 - alpha[i];
          s += plane[i] * w;
          s2 += plane2[i] * w;
          d += w;
        }
        num2![g + gx] += s2;
      }
      num[g + gx] += s;
      den[g + gx] += d;
    }
  }
}

/** Writes num/den (rounded, 0..255) into `low`, or the frame's sample at the cell's corner where no weight is near. */
function resolveCells(
  num: Float32Array,
  den: Float32Array,
  low: Uint8Array,
  plane: Uint8Array,
  planeWidth: number,
  cell: number,
  gridWidth: number,
  gridHeight: number,
): void {
  for (let gy = 0; gy < gridHeight; gy++) {
    const o = gy * gridWidth;
    const fallbackRow = gy * cell * planeWidth;
    for (let gx = 0; gx < gridWidth; gx++) {
      const d = den[o + gx];
      if (d > MIN_WEIGHT) {
        const v = num[o + gx] / d + 0.5;
        low[o + gx] = v > 255 ? 255 : v < 0 ? 0 : v;
      } else {
        low[o + gx] = plane[fallbackRow + gx * cell];
      }
    }
  }
}

/**
 * maskedBlurBackground computes the blurred background of `frame` (Gaussian of standard deviation
 * about `blurRadiusPx` luma px, CSS `blur()` semantics; at least ~6 px because of the 1/4 grid)
 * from background pixels only (weights 255 - alpha) and writes it as I420 planes of the frame's size
 * into `out`, which it returns.
 */
export function maskedBlurBackground(frame: YuvFrame, alpha: AlphaPlanes, blurRadiusPx: number, out: YuvPlanes): YuvPlanes {
  const { width, height } = frame;
  const cw = width >> 1;
  const chh = height >> 1;
  if (out.width !== width || out.height !== height) throw new RangeError(`maskedBlurBackground: out is ${out.width}x${out.height}, frame is ${width}x${height}`);
  const s = scratchFor(width, height);
  const { gridWidth, gridHeight } = s;
  const chromaCell = BLUR_GRID_FACTOR >> 1;

  accumulateCells(frame.y, alpha.y, width, height, BLUR_GRID_FACTOR, gridWidth, s.numY, s.denY);
  accumulateCells(frame.u, alpha.c, cw, chh, chromaCell, gridWidth, s.numU, s.denC, s.numV, frame.v);

  const radius = boxRadiusForSigma(blurRadiusPx / BLUR_GRID_FACTOR);
  for (const plane of [s.numY, s.denY, s.numU, s.numV, s.denC]) {
    boxBlurZeroPadded(plane, gridWidth, gridHeight, radius, BOX_PASSES, s.tmp, s.acc);
  }

  resolveCells(s.numY, s.denY, s.lowY, frame.y, width, BLUR_GRID_FACTOR, gridWidth, gridHeight);
  resolveCells(s.numU, s.denC, s.lowU, frame.u, cw, chromaCell, gridWidth, gridHeight);
  resolveCells(s.numV, s.denC, s.lowV, frame.v, cw, chromaCell, gridWidth, gridHeight);

  resizeBilinear(s.lowY, gridWidth, gridHeight, out.y, width, height);
  resizeBilinear(s.lowU, gridWidth, gridHeight, out.u, cw, chh);
  resizeBilinear(s.lowV, gridWidth, gridHeight, out.v, cw, chh);
  return out;
}
