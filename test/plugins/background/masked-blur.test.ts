import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { YuvFrame } from '../../../plugins/plugin-api.ts';
import { boxBlur4, boxRadiusForSigma, compositeBlur, gridCellForSigma, maskedBlurBackground, upsampleLowResBackground } from '../../../plugins/background/masked-blur.ts';
import { createAlphaPlanes, upsampleAlpha, type AlphaPlanes } from '../../../plugins/background/upsample-alpha.ts';

/** A dark frame (Y 30, U 100, V 150) with a bright person rectangle (Y 230, U 200, V 60) and its hard matte. */
function personOnDark(w: number, h: number, rect: { x0: number; y0: number; x1: number; y1: number }): { frame: YuvFrame; alpha: AlphaPlanes } {
  const inside = (x: number, y: number) => x >= rect.x0 && x < rect.x1 && y >= rect.y0 && y < rect.y1;
  const y = new Uint8Array(w * h), u = new Uint8Array((w / 2) * (h / 2)), v = new Uint8Array(u.length);
  const model = new Uint8Array(w * h);
  for (let py = 0; py < h; py++) for (let px = 0; px < w; px++) {
    const p = inside(px, py);
    y[py * w + px] = p ? 230 : 30;
    model[py * w + px] = p ? 255 : 0;
  }
  for (let cy = 0; cy < h / 2; cy++) for (let cx = 0; cx < w / 2; cx++) {
    const p = inside(cx * 2, cy * 2);
    u[cy * (w / 2) + cx] = p ? 200 : 100;
    v[cy * (w / 2) + cx] = p ? 60 : 150;
  }
  // Model matte at frame size: upsampling is the identity for luma, a 2x reduction for chroma.
  const alpha = upsampleAlpha(model, w, h, w, h, createAlphaPlanes(w, h));
  return { frame: { width: w, height: h, y, u, v, index: 0, ptsMs: 0 }, alpha };
}

test('gridCellForSigma and boxRadiusForSigma tables', () => {
  const cells: [number, number][] = [[1, 4], [8, 4], [15.9, 4], [16, 8], [31, 8], [32, 16], [64, 16]];
  for (const [sigma, cell] of cells) assert.equal(gridCellForSigma(sigma), cell, `sigma ${sigma}`);
  const radii: [number, number][] = [[0.1, 1], [1, 1], [2, 2], [4, 4], [8, 8]];
  for (const [sigma, r] of radii) assert.equal(boxRadiusForSigma(sigma), r, `sigma ${sigma}`);
});

test('boxBlur4: an impulse keeps its mass and spreads symmetrically, per channel (radius 2 and 5)', () => {
  for (const radius of [2, 5]) {
    const w = 41, h = 41, ch = 4;
    const data = new Float32Array(w * h * ch);
    for (let c = 0; c < ch; c++) data[(20 * w + 20) * ch + c] = c + 1;
    boxBlur4(data, w, h, radius, 3, new Float32Array(data.length), new Float32Array(w * ch));
    for (let c = 0; c < ch; c++) {
      let sum = 0;
      for (let i = 0; i < w * h; i++) sum += data[i * ch + c];
      assert.ok(Math.abs(sum - (c + 1)) < 1e-4, `r ${radius} channel ${c}: sum ${sum}`);
    }
    const at = (x: number, y: number) => data[(y * w + x) * ch];
    assert.ok(Math.abs(at(15, 20) - at(25, 20)) < 1e-6 && Math.abs(at(20, 15) - at(20, 25)) < 1e-6 && Math.abs(at(15, 20) - at(20, 15)) < 1e-6);
    assert.ok(at(20, 20) > at(22, 20) && at(22, 20) > at(24, 20));
    assert.equal(at(20 + 3 * radius + 1, 20), 0, 'support ends at 3 radii');
  }
});

test('boxBlur4 pads with zeros: a constant field darkens only within 3 radii of the border', () => {
  const w = 20, h = 10;
  const data = new Float32Array(w * h * 4).fill(1);
  boxBlur4(data, w, h, 1, 3, new Float32Array(data.length), new Float32Array(w * 4));
  assert.ok(Math.abs(data[(5 * w + 10) * 4] - 1) < 1e-6, 'interior unchanged');
  assert.ok(data[0] < 0.5, 'corner darkened');
});

test('no halo: dark background next to a bright person stays dark after the blur', () => {
  const w = 320, h = 180;
  const rect = { x0: 120, y0: 40, x1: 200, y1: 180 };
  for (const radius of [4, 16, 64]) {
    const { frame, alpha } = personOnDark(w, h, rect);
    compositeBlur(frame, alpha, radius);
    for (let py = rect.y0 + 4; py < h; py += 7) {
      for (const px of [rect.x0 - 3, rect.x0 - 8, rect.x1 + 2, rect.x1 + 8]) {
        assert.ok(frame.y[py * w + px] <= 34, `r ${radius}: Y at ${px},${py} = ${frame.y[py * w + px]}`);
        const c = (py >> 1) * (w / 2) + (px >> 1);
        assert.ok(Math.abs(frame.u[c] - 100) <= 4 && Math.abs(frame.v[c] - 150) <= 4, `r ${radius}: UV at ${px},${py} = ${frame.u[c]},${frame.v[c]}`);
      }
    }
    // Person pixels are untouched.
    assert.equal(frame.y[100 * w + 160], 230);
  }
});

test('no-halo test is sensitive: an unmasked blur would brighten the same pixels', () => {
  const w = 320, h = 180;
  const { frame } = personOnDark(w, h, { x0: 120, y0: 40, x1: 200, y1: 180 });
  const noMatte = upsampleAlpha(new Uint8Array(16), 4, 4, w, h, createAlphaPlanes(w, h));
  const plain = upsampleLowResBackground(maskedBlurBackground(frame, noMatte, 16), w, h);
  assert.ok(plain.y[100 * w + 117] > 60, `plain blur next to the person: ${plain.y[100 * w + 117]}`);
});

test('constant background stays constant; all-person frame is unchanged', () => {
  const w = 64, h = 36;
  const { frame, alpha } = personOnDark(w, h, { x0: 0, y0: 0, x1: 0, y1: 0 });
  compositeBlur(frame, alpha, 16);
  assert.ok(frame.y.every((v) => v === 30) && frame.u.every((v) => v === 100) && frame.v.every((v) => v === 150));
  const all = personOnDark(w, h, { x0: 0, y0: 0, x1: w, y1: h });
  compositeBlur(all.frame, all.alpha, 16);
  assert.ok(all.frame.y.every((v) => v === 230) && all.frame.u.every((v) => v === 200));
});

test('blur smooths a textured background; odd sizes (width not a multiple of 4) work', () => {
  for (const [w, h] of [[320, 180], [22, 6], [30, 18]]) {
    const y = Uint8Array.from({ length: w * h }, (_, i) => ((i % w) + Math.floor(i / w)) % 2 === 0 ? 40 : 200);
    const c = (w / 2) * (h / 2);
    const frame: YuvFrame = { width: w, height: h, y, u: new Uint8Array(c).fill(128), v: new Uint8Array(c).fill(128), index: 0, ptsMs: 0 };
    const alpha = upsampleAlpha(new Uint8Array(4), 2, 2, w, h, createAlphaPlanes(w, h));
    compositeBlur(frame, alpha, 8);
    const mean = frame.y.reduce((s, v) => s + v, 0) / (w * h);
    assert.ok(Math.abs(mean - 120) < 12, `${w}x${h} mean ${mean}`);
    assert.ok(frame.y.every((v) => v > 80 && v < 160), `${w}x${h} checkerboard not smoothed`);
  }
});
