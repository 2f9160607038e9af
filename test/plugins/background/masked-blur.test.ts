import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { YuvFrame } from '../../../plugins/plugin-api.ts';
import { blurCells, compositeBlur, maskedBlurBackground, upsampleLowResBackground } from '../../../plugins/background/masked-blur.ts';
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

test('no halo: dark background next to a bright person stays dark after the blur', () => {
  // 318 px: chroma rows of 159 px are not word-aligned, so the byte paths run too.
  for (const [w, h] of [[320, 180], [318, 178]]) for (const radius of [4, 16, 64]) {
    const rect = { x0: 120, y0: 40, x1: 200, y1: h };
    const { frame, alpha } = personOnDark(w, h, rect);
    compositeBlur(frame, alpha, radius);
    for (let py = rect.y0 + 4; py < h; py += 7) {
      for (const px of [rect.x0 - 3, rect.x0 - 8, rect.x1 + 2, rect.x1 + 8]) {
        assert.ok(frame.y[py * w + px] <= 34, `${w}x${h} r ${radius}: Y at ${px},${py} = ${frame.y[py * w + px]}`);
        const c = (py >> 1) * (w / 2) + (px >> 1);
        assert.ok(Math.abs(frame.u[c] - 100) <= 4 && Math.abs(frame.v[c] - 150) <= 4, `${w}x${h} r ${radius}: UV at ${px},${py} = ${frame.u[c]},${frame.v[c]}`);
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

/** A background (no person) with a vertical step edge: Y 40 left of x = w / 2, 200 right of it. */
function stepFrame(w: number, h: number): { frame: YuvFrame; alpha: AlphaPlanes } {
  const y = Uint8Array.from({ length: w * h }, (_, i) => (i % w < w / 2 ? 40 : 200));
  const c = (w / 2) * (h / 2);
  const frame: YuvFrame = { width: w, height: h, y, u: new Uint8Array(c).fill(128), v: new Uint8Array(c).fill(128), index: 0, ptsMs: 0 };
  return { frame, alpha: upsampleAlpha(new Uint8Array(4), 2, 2, w, h, createAlphaPlanes(w, h)) };
}

test('blur strength: a step edge rises from 10 % to 90 % over about 2.56 sigma (sigma = blurRadiusPx, at least ~6 px)', () => {
  const w = 640, h = 64;
  for (const radius of [4, 8, 16, 24, 32, 64]) {
    const { frame, alpha } = stepFrame(w, h);
    compositeBlur(frame, alpha, radius);
    const row = frame.y.subarray(32 * w, 33 * w);
    const first = (level: number) => row.findIndex((v) => v >= level);
    const rise = first(40 + 0.9 * 160) - first(40 + 0.1 * 160);
    const sigma = rise / 2.563;
    // The grid adds up to ~25 % and sets a floor of ~6 px; never less than asked for.
    assert.ok(sigma >= Math.max(radius, 5.5) * 0.95 && sigma <= Math.max(radius, 6) * 1.45, `r ${radius}: measured sigma ${sigma.toFixed(1)} px`);
    // Monotone, and far from the edge the plane keeps its levels.
    for (let x = 1; x < w; x++) assert.ok(row[x] >= row[x - 1], `r ${radius}: not monotone at ${x}`);
  }
});

test('blurCells: chroma cells (chroma px) match luma cells (luma px) in number', () => {
  assert.deepEqual([4, 16, 64].map(blurCells), [{ luma: 4, chroma: 4 }, { luma: 8, chroma: 8 }, { luma: 16, chroma: 16 }]);
});

test('word-aligned and unaligned frame planes give the same composite', () => {
  const w = 160, h = 96;
  for (const radius of [4, 16, 64]) {
    const { frame, alpha } = personOnDark(w, h, { x0: 50, y0: 20, x1: 110, y1: h });
    for (let i = 0; i < frame.y.length; i++) frame.y[i] = (frame.y[i] + ((i * 2654435761) >>> 27)) & 255;
    const shift = (p: Uint8Array) => { const q = new Uint8Array(new ArrayBuffer(p.length + 1), 1, p.length); q.set(p); return q; };
    const other: YuvFrame = { ...frame, y: shift(frame.y), u: shift(frame.u), v: shift(frame.v) };
    const otherAlpha: AlphaPlanes = { ...alpha, y: shift(alpha.y), c: shift(alpha.c) };
    compositeBlur(frame, alpha, radius);
    compositeBlur(other, otherAlpha, radius);
    assert.deepEqual([[...other.y], [...other.u], [...other.v]], [[...frame.y], [...frame.u], [...frame.v]], `r ${radius}`);
  }
});
