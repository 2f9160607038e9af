/**
 * The coarse grid of the halo-free background blur (see masked-blur.ts): per cell, sums of
 * plane * w and of w (w = 255 - alpha, the background weight) over sparse 2x2-pixel samples, a
 * zero-padded separable blur of both (binomial or box passes, Float64), and their ratio as an 8-bit
 * grid plane. One grid per plane resolution: luma cells weigh by the luma matte, chroma cells by the
 * chroma matte. Inner loops are typed-array only and allocation-free.
 */

/** MIN_GRID_CELL_PX is the finest blur grid cell in px of the plane (with the luma floor of 1.41 cells, the smallest effective blur is ~6 luma px). */
export const MIN_GRID_CELL_PX = 4;
/** MAX_GRID_CELL_PX is the coarsest blur grid cell in px of the plane (used for sigma >= 32 px). */
export const MAX_GRID_CELL_PX = 16;
/** BOX_PASSES is the number of box passes per axis approximating a Gaussian (grid variance above BINOMIAL_MAX_VARIANCE). */
export const BOX_PASSES = 3;
// Below this blurred weight (one fully-background sample weighs 255) no background is near: the cell
// takes a fallback value. Float64 running sums leave residues around 1e-12 where the weight is truly 0.
const MIN_WEIGHT = 1e-3;

/**
 * boxRadiusForSigma returns the radius r (>= 1) of a box filter of width 2r + 1 whose `passes`-fold
 * repetition has about the standard deviation `sigma` (Wells 1986: width = sqrt(12 sigma^2 / passes + 1)).
 */
export function boxRadiusForSigma(sigma: number, passes = BOX_PASSES): number {
  const width = Math.sqrt((12 * sigma * sigma) / passes + 1);
  return Math.max(1, Math.round((width - 1) / 2));
}

/**
 * gridCellForSigma returns the grid cell size in px (4, 8 or 16) for a blur of standard deviation
 * `sigma` px: the largest power of two not above sigma / 2, so the blur spans at least two cells.
 */
export function gridCellForSigma(sigma: number): number {
  let cell = MIN_GRID_CELL_PX;
  while (cell * 2 <= MAX_GRID_CELL_PX && cell * 2 <= sigma / 2) cell *= 2;
  return cell;
}

/**
 * SAMPLE_SPACING_PX is the spacing in px of the 2x2-pixel samples feeding the grid: the centre 2x2 of
 * every 4x4 block, a quarter of the pixels. The 2x2 box cancels 2-px patterns; the spacing stays at or
 * below the blur's sigma, so patterns that alias (periods near 4 px) are blurred away, where sampling
 * only every 8 px left visible moire on 8-px stripes at sigma 16..32.
 */
export const SAMPLE_SPACING_PX = 4;

/** GridPlane is an 8-bit plane on the blur grid: `width` x `height` cells of `cell` px, rows of width + 2 values with the edge cell repeated on both sides. */
export interface GridPlane {
  cell: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** createGridPlane allocates the grid plane covering a planeWidth x planeHeight px plane with cells of `cell` px (a multiple of 4). */
export function createGridPlane(planeWidth: number, planeHeight: number, cell: number): GridPlane {
  if (cell < SAMPLE_SPACING_PX || cell % SAMPLE_SPACING_PX !== 0) throw new RangeError(`blur grid: cell ${cell} px is not a multiple of ${SAMPLE_SPACING_PX}`);
  const width = Math.ceil(planeWidth / cell);
  const height = Math.ceil(planeHeight / cell);
  return { cell, width, height, data: new Uint8Array((width + 2) * height) };
}

// Word-aligned rows let the samples (bytes 1 and 2 of each 32-bit word, in either byte order) be read a word at a time.
function wordAligned(plane: Uint8Array, width: number): boolean {
  return (plane.byteOffset & 3) === 0 && (width & 3) === 0;
}

function words(plane: Uint8Array): Uint32Array {
  return new Uint32Array(plane.buffer, plane.byteOffset, plane.length >> 2);
}

/**
 * accumulateCells sets `sums` and `weights` (grid.width x grid.height) to the sums of plane * w and w
 * (w = 255 - alpha) over the 2x2-pixel samples at the centre of every 4x4 block of each cell (see
 * SAMPLE_SPACING_PX); at the plane's right and bottom edges a block whose first sample column or row
 * lies outside is skipped, and a second sample outside repeats the last column or row.
 */
export function accumulateCells(
  plane: Uint8Array,
  alpha: Uint8Array,
  width: number,
  height: number,
  grid: GridPlane,
  sums: Float64Array,
  weights: Float64Array,
): void {
  const { cell, width: gridWidth, height: gridHeight } = grid;
  const blocks = cell / SAMPLE_SPACING_PX;
  sums.fill(0, 0, gridWidth * gridHeight);
  weights.fill(0, 0, gridWidth * gridHeight);
  const fast = wordAligned(plane, width) && wordAligned(alpha, width);
  const pw = fast ? words(plane) : undefined;
  const aw = fast ? words(alpha) : undefined;
  for (let gy = 0; gy < gridHeight; gy++) {
    const g = gy * gridWidth;
    for (let by = 0; by < blocks; by++) {
      const y = gy * cell + by * SAMPLE_SPACING_PX + 1;
      if (y >= height) break;
      const o0 = y * width;
      const o1 = (y + 1 < height ? y + 1 : y) * width;
      if (pw !== undefined && aw !== undefined) accumulateRowWords(pw, aw, o0 >> 2, o1 >> 2, width >> 2, blocks, gridWidth, sums, weights, g);
      else accumulateRow(plane, alpha, o0, o1, width, blocks, gridWidth, sums, weights, g);
    }
  }
}

function accumulateRowWords(
  plane: Uint32Array,
  alpha: Uint32Array,
  o0: number,
  o1: number,
  rowWords: number,
  blocks: number,
  gridWidth: number,
  sums: Float64Array,
  weights: Float64Array,
  g: number,
): void {
  for (let gx = 0, b = 0; gx < gridWidth; gx++) {
    let s = 0;
    let n = 0;
    const end = b + blocks < rowWords ? b + blocks : rowWords;
    for (; b < end; b++) {
      const a0 = ~alpha[o0 + b];
      const a1 = ~alpha[o1 + b];
      const p0 = plane[o0 + b];
      const p1 = plane[o1 + b];
      const w00 = (a0 >>> 8) & 255, w01 = (a0 >>> 16) & 255, w10 = (a1 >>> 8) & 255, w11 = (a1 >>> 16) & 255;
      s += ((p0 >>> 8) & 255) * w00 + ((p0 >>> 16) & 255) * w01 + ((p1 >>> 8) & 255) * w10 + ((p1 >>> 16) & 255) * w11;
      n += w00 + w01 + w10 + w11;
    }
    sums[g + gx] += s;
    weights[g + gx] += n;
  }
}

function accumulateRow(
  plane: Uint8Array,
  alpha: Uint8Array,
  o0: number,
  o1: number,
  width: number,
  blocks: number,
  gridWidth: number,
  sums: Float64Array,
  weights: Float64Array,
  g: number,
): void {
  for (let gx = 0, x = 1; gx < gridWidth; gx++) {
    let s = 0;
    let n = 0;
    for (let bx = 0; bx < blocks && x < width; bx++, x += SAMPLE_SPACING_PX) {
      const x0 = x;
      const x1 = x + 1 < width ? x + 1 : x;
      const w00 = 255 - alpha[o0 + x0], w01 = 255 - alpha[o0 + x1];
      const w10 = 255 - alpha[o1 + x0], w11 = 255 - alpha[o1 + x1];
      s += plane[o0 + x0] * w00 + plane[o0 + x1] * w01 + plane[o1 + x0] * w10 + plane[o1 + x1] * w11;
      n += w00 + w01 + w10 + w11;
    }
    sums[g + gx] += s;
    weights[g + gx] += n;
  }
}

/**
 * boxBlurPlane blurs `data` (width x height values) in place with `passes` box filters of `radius`
 * per axis, treating samples outside as 0 (right for normalized convolution, where the weights get
 * the same padding); `tmp` is as long as `data`, `acc` holds `width` values.
 */
export function boxBlurPlane(
  data: Float64Array,
  width: number,
  height: number,
  radius: number,
  passes: number,
  tmp: Float64Array,
  acc: Float64Array,
): void {
  const inv = 1 / (2 * radius + 1);
  for (let pass = 0; pass < passes; pass++) {
    // Horizontal: data -> tmp, a running sum over [x - r, x + r].
    for (let y = 0; y < height; y++) {
      const o = y * width;
      const end = o + width;
      let s = 0;
      for (let k = o, e = Math.min(o + radius + 1, end); k < e; k++) s += data[k];
      for (let i = o; i < end; i++) {
        tmp[i] = s * inv;
        const a = i + radius + 1;
        if (a < end) s += data[a];
        const b = i - radius;
        if (b >= o) s -= data[b];
      }
    }
    // Vertical: tmp -> data, one running sum per column, row by row (contiguous).
    acc.fill(0, 0, width);
    for (let k = 0; k <= radius && k < height; k++) {
      const o = k * width;
      for (let x = 0; x < width; x++) acc[x] += tmp[o + x];
    }
    for (let y = 0; y < height; y++) {
      const o = y * width;
      const a = (y + radius + 1) * width;
      const b = (y - radius) * width;
      const canAdd = y + radius + 1 < height;
      const canSub = y - radius >= 0;
      if (canAdd && canSub) {
        for (let x = 0; x < width; x++) {
          const v = acc[x];
          data[o + x] = v * inv;
          acc[x] = v + tmp[a + x] - tmp[b + x];
        }
      } else {
        for (let x = 0; x < width; x++) data[o + x] = acc[x] * inv;
        if (canAdd) for (let x = 0; x < width; x++) acc[x] += tmp[a + x];
        if (canSub) for (let x = 0; x < width; x++) acc[x] -= tmp[b + x];
      }
    }
  }
}

/**
 * binomialBlurPlane blurs `data` (width x height values) in place with the 5-tap binomial kernel
 * [1, 4, 6, 4, 1] / 16 per axis (a Gaussian of sigma 1 sample), zero-padded like {@link boxBlurPlane};
 * `tmp` is as long as `data`. Each output reads one new input (a sliding window), about three times
 * cheaper than three box passes.
 */
export function binomialBlurPlane(data: Float64Array, width: number, height: number, tmp: Float64Array): void {
  const k = 1 / 16;
  for (let y = 0; y < height; y++) {
    const o = y * width;
    let a = 0, b = 0, c = data[o], d = width > 1 ? data[o + 1] : 0;
    for (let x = 0; x < width; x++) {
      const e = x + 2 < width ? data[o + x + 2] : 0;
      tmp[o + x] = (a + e + 4 * (b + d) + 6 * c) * k;
      a = b; b = c; c = d; d = e;
    }
  }
  // Column by column: the grid is small enough for strided reads to stay in cache.
  const step = 2 * width;
  for (let x = 0; x < width; x++) {
    let a = 0, b = 0, c = tmp[x], d = height > 1 ? tmp[width + x] : 0;
    for (let y = 0, i = x; y < height; y++, i += width) {
      const e = y + 2 < height ? tmp[i + step] : 0;
      data[i] = (a + e + 4 * (b + d) + 6 * c) * k;
      a = b; b = c; c = d; d = e;
    }
  }
}

/**
 * binomial9BlurPlane is {@link binomialBlurPlane} with the 9-tap kernel [1, 8, 28, 56, 70, 56, 28, 8, 1] / 256
 * (the 5-tap kernel applied twice: sigma sqrt(2) samples) at the same cost.
 */
export function binomial9BlurPlane(data: Float64Array, width: number, height: number, tmp: Float64Array): void {
  const k = 1 / 256;
  for (let y = 0; y < height; y++) {
    const o = y * width;
    let a = 0, b = 0, c = 0, d = 0;
    let e = data[o], f = width > 1 ? data[o + 1] : 0, g = width > 2 ? data[o + 2] : 0, h = width > 3 ? data[o + 3] : 0;
    for (let x = 0; x < width; x++) {
      const i = x + 4 < width ? data[o + x + 4] : 0;
      tmp[o + x] = (a + i + 8 * (b + h) + 28 * (c + g) + 56 * (d + f) + 70 * e) * k;
      a = b; b = c; c = d; d = e; e = f; f = g; g = h; h = i;
    }
  }
  const step = 4 * width;
  for (let x = 0; x < width; x++) {
    let a = 0, b = 0, c = 0, d = 0;
    let e = tmp[x], f = height > 1 ? tmp[width + x] : 0, g = height > 2 ? tmp[2 * width + x] : 0, h = height > 3 ? tmp[3 * width + x] : 0;
    for (let y = 0, p = x; y < height; y++, p += width) {
      const i = y + 4 < height ? tmp[p + step] : 0;
      data[p] = (a + i + 8 * (b + h) + 28 * (c + g) + 56 * (d + f) + 70 * e) * k;
      a = b; b = c; c = d; d = e; e = f; f = g; g = h; h = i;
    }
  }
}

/** BINOMIAL_MAX_VARIANCE is the largest grid blur variance (cells^2) done with binomial passes (at most three) rather than box passes. */
export const BINOMIAL_MAX_VARIANCE = 5;

/**
 * blurGridPlane blurs `data` (width x height cells) in place with a Gaussian of about `sigmaCells`
 * cells, zero-padded: up to BINOMIAL_MAX_VARIANCE with 9-tap (variance 2) and 5-tap (variance 1)
 * binomial passes whose variances add up to the nearest integer (at least 1), else with BOX_PASSES box
 * passes (see {@link boxRadiusForSigma}); `tmp` is as long as `data`, `acc` holds `width` values.
 */
export function blurGridPlane(data: Float64Array, width: number, height: number, sigmaCells: number, tmp: Float64Array, acc: Float64Array): void {
  const variance = sigmaCells * sigmaCells;
  if (variance > BINOMIAL_MAX_VARIANCE) {
    boxBlurPlane(data, width, height, boxRadiusForSigma(sigmaCells), BOX_PASSES, tmp, acc);
    return;
  }
  const units = Math.max(1, Math.round(variance));
  for (let i = 0; i < units >> 1; i++) binomial9BlurPlane(data, width, height, tmp);
  if ((units & 1) === 1) binomialBlurPlane(data, width, height, tmp);
}

/**
 * normalizeCells writes round(sums / weights) into `grid` (rows padded as in {@link GridPlane}); a
 * cell with no background near it (weight ~0) takes the plane's pixel at its centre, which only
 * all-person spans (never drawn) or tiny unsampled background gaps can see.
 */
export function normalizeCells(sums: Float64Array, weights: Float64Array, plane: Uint8Array, width: number, height: number, grid: GridPlane): void {
  const { cell, width: gridWidth, height: gridHeight, data } = grid;
  const stride = gridWidth + 2;
  for (let gy = 0; gy < gridHeight; gy++) {
    const g = gy * gridWidth;
    const r = gy * stride + 1;
    const py = Math.min(gy * cell + (cell >> 1), height - 1) * width;
    for (let gx = 0; gx < gridWidth; gx++) {
      const w = weights[g + gx];
      if (w > MIN_WEIGHT) {
        // +0.5 rounds (Uint8Array stores truncate); float rounding in the running sums can push a
        // ratio of nearly-zero sums out of 0..255, and stores wrap, so clamp.
        const v = sums[g + gx] / w + 0.5;
        data[r + gx] = v < 0 ? 0 : v > 255 ? 255 : v;
      } else {
        data[r + gx] = plane[py + Math.min(gx * cell + (cell >> 1), width - 1)];
      }
    }
    data[r - 1] = data[r];
    data[r + gridWidth] = data[r + gridWidth - 1];
  }
}
