import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accumulateCells,
  binomial9BlurPlane,
  binomialBlurPlane,
  blurGridPlane,
  boxBlurPlane,
  boxRadiusForSigma,
  createGridPlane,
  gridCellForSigma,
  normalizeCells,
} from '../../../plugins/background/blur-grid.ts';

/** Mass, centroid and standard deviation along x of a width x height field. */
function moments(data: Float64Array, width: number, height: number): { mass: number; cx: number; sx: number } {
  let mass = 0, mx = 0, mxx = 0;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const v = data[y * width + x];
    mass += v; mx += v * x; mxx += v * x * x;
  }
  const cx = mx / mass;
  return { mass, cx, sx: Math.sqrt(mxx / mass - cx * cx) };
}

/** A copy of `src` in a buffer at byte offset 1, so 32-bit word views of it are impossible. */
function unaligned(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(src.length + 1), 1, src.length);
  out.set(src);
  return out;
}

test('gridCellForSigma and boxRadiusForSigma tables', () => {
  const cells: [number, number][] = [[1, 4], [8, 4], [15.9, 4], [16, 8], [31, 8], [32, 16], [64, 16]];
  for (const [sigma, cell] of cells) assert.equal(gridCellForSigma(sigma), cell, `sigma ${sigma}`);
  const radii: [number, number][] = [[0.1, 1], [1, 1], [2, 2], [4, 4], [8, 8]];
  for (const [sigma, r] of radii) assert.equal(boxRadiusForSigma(sigma), r, `sigma ${sigma}`);
});

test('boxBlurPlane: an impulse keeps its mass and spreads symmetrically (radius 2 and 5)', () => {
  for (const radius of [2, 5]) {
    const w = 41, h = 41;
    const data = new Float64Array(w * h);
    data[20 * w + 20] = 3;
    boxBlurPlane(data, w, h, radius, 3, new Float64Array(data.length), new Float64Array(w));
    const m = moments(data, w, h);
    assert.ok(Math.abs(m.mass - 3) < 1e-9, `r ${radius}: mass ${m.mass}`);
    const at = (x: number, y: number) => data[y * w + x];
    assert.ok(Math.abs(at(15, 20) - at(25, 20)) < 1e-12 && Math.abs(at(20, 15) - at(20, 25)) < 1e-12 && Math.abs(at(15, 20) - at(20, 15)) < 1e-12);
    assert.ok(at(20, 20) > at(22, 20) && at(22, 20) > at(24, 20));
    assert.ok(Math.abs(at(20 + 3 * radius + 1, 20)) < 1e-12, 'support ends at 3 radii (up to running-sum rounding)');
    // Three passes of a (2r + 1)-wide box: variance 3 ((2r + 1)^2 - 1) / 12.
    assert.ok(Math.abs(m.sx - Math.sqrt((3 * ((2 * radius + 1) ** 2 - 1)) / 12)) < 1e-6, `r ${radius}: sigma ${m.sx}`);
  }
});

test('boxBlurPlane pads with zeros: a constant field darkens only within 3 radii of the border', () => {
  const w = 20, h = 10;
  const data = new Float64Array(w * h).fill(1);
  boxBlurPlane(data, w, h, 1, 3, new Float64Array(data.length), new Float64Array(w));
  assert.ok(Math.abs(data[5 * w + 10] - 1) < 1e-12, 'interior unchanged');
  assert.ok(data[0] < 0.5, 'corner darkened');
});

test('binomial kernels: an impulse becomes the outer product of [1 4 6 4 1] / 16 (sigma 1) or its square (sigma sqrt 2)', () => {
  const w = 15, h = 13;
  const k5 = [1, 4, 6, 4, 1].map((v) => v / 16);
  const k9 = [1, 8, 28, 56, 70, 56, 28, 8, 1].map((v) => v / 256);
  for (const [blur, kernel] of [[binomialBlurPlane, k5], [binomial9BlurPlane, k9]] as const) {
    const data = new Float64Array(w * h);
    data[6 * w + 7] = 1;
    blur(data, w, h, new Float64Array(data.length));
    const half = (kernel.length - 1) / 2;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const ky = kernel[y - 6 + half] ?? 0;
      const kx = kernel[x - 7 + half] ?? 0;
      assert.ok(Math.abs(data[y * w + x] - ky * kx) < 1e-12, `${blur.name} at ${x},${y}: ${data[y * w + x]} vs ${ky * kx}`);
    }
    // Zero padding: a constant field loses mass only at the border.
    const flat = new Float64Array(w * h).fill(1);
    blur(flat, w, h, new Float64Array(flat.length));
    assert.ok(Math.abs(flat[6 * w + 7] - 1) < 1e-12 && flat[0] < 0.6, `${blur.name} padding`);
  }
});

test('blurGridPlane: binomial passes up to variance 5, box passes beyond; the blur grows with sigma and never drops below 1 cell', () => {
  const w = 81, h = 41;
  let last = 0;
  for (const [sigma, min, max] of [[0.3, 0.99, 1.01], [1, 0.99, 1.01], [1.4, 1.41, 1.42], [1.7, 1.73, 1.74], [2, 1.99, 2.01], [2.2, 2.23, 2.24], [2.3, 2.3, 2.9], [4, 4, 4.6]] as const) {
    const data = new Float64Array(w * h);
    data[20 * w + 40] = 1;
    blurGridPlane(data, w, h, sigma, new Float64Array(data.length), new Float64Array(w));
    const m = moments(data, w, h);
    assert.ok(Math.abs(m.mass - 1) < 1e-9 && Math.abs(m.cx - 40) < 1e-9, `sigma ${sigma}: mass ${m.mass}, centre ${m.cx}`);
    assert.ok(m.sx >= min && m.sx <= max, `sigma ${sigma}: measured ${m.sx}`);
    assert.ok(m.sx >= last);
    last = m.sx;
  }
});

test('accumulateCells: sums of plane * w and w over the centre 2x2 of every 4x4 block; person samples weigh nothing; word and byte paths agree', () => {
  for (const [w, h, cell] of [[64, 36, 8], [40, 20, 16], [22, 6, 4], [30, 18, 8]]) {
    const plane = Uint8Array.from({ length: w * h }, (_, i) => (i * 37) & 255);
    // Left part person (255), right part background, a ramp between.
    const alpha = Uint8Array.from({ length: w * h }, (_, i) => Math.max(0, Math.min(255, 255 - ((i % w) - (w >> 1)) * 40)));
    const grid = createGridPlane(w, h, cell);
    const n = grid.width * grid.height;
    const expectSums = new Float64Array(n), expectWeights = new Float64Array(n);
    for (let y = 1; y < h; y += 4) for (let x = 1; x < w; x += 4) {
      const g = Math.floor(y / cell) * grid.width + Math.floor(x / cell);
      for (const sy of [y, Math.min(y + 1, h - 1)]) for (const sx of [x, Math.min(x + 1, w - 1)]) {
        const weight = 255 - alpha[sy * w + sx];
        expectSums[g] += plane[sy * w + sx] * weight;
        expectWeights[g] += weight;
      }
    }
    for (const [p, a] of [[plane, alpha], [unaligned(plane), unaligned(alpha)]]) {
      const sums = new Float64Array(n).fill(9), weights = new Float64Array(n).fill(9);
      accumulateCells(p, a, w, h, grid, sums, weights);
      assert.deepEqual([sums, weights], [expectSums, expectWeights], `${w}x${h} cell ${cell}, byteOffset ${p.byteOffset}`);
    }
    assert.ok(expectWeights[0] === 0 && expectSums[0] === 0 && expectWeights[grid.width - 1] > 0);
  }
});

test('normalizeCells: sums / weights rounded and clamped, empty cells take the plane pixel, rows padded', () => {
  const grid = createGridPlane(12, 4, 4); // 3 x 1 cells
  const plane = new Uint8Array(12 * 4).fill(77);
  normalizeCells(Float64Array.from([255 * 100.4, 0, 255 * 300]), Float64Array.from([255, 0, 255]), plane, 12, 4, grid);
  assert.deepEqual([...grid.data], [100, 100, 77, 255, 255]);
});
