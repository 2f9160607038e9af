import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { YuvFrame } from '../../../plugins/plugin-api.ts';
import { blend, blendSpanWithValue, compositeColor, compositePlanes } from '../../../plugins/background/composite-yuv.ts';
import { fullRowRuns, RUN_EDGE } from '../../../plugins/background/matte-runs.ts';
import { createAlphaPlanes, upsampleAlpha, type AlphaPlanes } from '../../../plugins/background/upsample-alpha.ts';
import type { YuvPlanes } from '../../../plugins/yuv-color.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) >>> 24);
}

function noiseFrame(w: number, h: number, seed: number): YuvFrame {
  const r = lcg(seed);
  const c = (w >> 1) * (h >> 1);
  return {
    width: w, height: h, index: 0, ptsMs: 0,
    y: Uint8Array.from({ length: w * h }, r), u: Uint8Array.from({ length: c }, r), v: Uint8Array.from({ length: c }, r),
  };
}

function cloneFrame(f: YuvFrame): YuvFrame {
  return { ...f, y: f.y.slice(), u: f.u.slice(), v: f.v.slice() };
}

/** Alpha planes from a model matte, plus the same planes with one edge run per row (the per-pixel path). */
function alphaFor(model: Uint8Array, mw: number, mh: number, w: number, h: number): [AlphaPlanes, AlphaPlanes] {
  const planes = upsampleAlpha(model, mw, mh, w, h, createAlphaPlanes(w, h));
  const perPixel = { y: planes.y, c: planes.c, yRuns: fullRowRuns(w, h, RUN_EDGE), cRuns: fullRowRuns(w >> 1, h >> 1, RUN_EDGE) };
  return [planes, perPixel];
}

test('blend equals bg + floor(((fg - bg) * a + 127) / 255) and is within 0.5 of the exact mix', () => {
  for (let fg = 0; fg < 256; fg += 5) {
    for (let bg = 0; bg < 256; bg += 3) {
      for (let a = 0; a < 256; a++) {
        const got = blend(fg, bg, a);
        assert.equal(got, bg + Math.floor(((fg - bg) * a + 127) / 255), `fg ${fg} bg ${bg} a ${a}`);
        assert.ok(Math.abs(got - (bg + ((fg - bg) * a) / 255)) <= 0.5 + 1e-9);
      }
    }
  }
  assert.equal(blend(200, 10, 255), 200);
  assert.equal(blend(200, 10, 0), 10);
});

const color = { y: 181, u: 128, v: 128 };
const cases: { name: string; w: number; h: number; model: (mw: number, mh: number) => Uint8Array; mw: number; mh: number; check: (orig: YuvFrame, out: YuvFrame) => void }[] = [
  {
    name: 'all-zero mask: every pixel becomes the colour', w: 22, h: 6, mw: 8, mh: 8, model: (mw, mh) => new Uint8Array(mw * mh),
    check: (_o, f) => {
      assert.ok(f.y.every((v) => v === 181));
      assert.ok(f.u.every((v) => v === 128) && f.v.every((v) => v === 128));
    },
  },
  {
    name: 'all-one mask: frame unchanged', w: 30, h: 18, mw: 8, mh: 8, model: (mw, mh) => new Uint8Array(mw * mh).fill(255),
    check: (o, f) => { assert.deepEqual(f.y, o.y); assert.deepEqual(f.u, o.u); assert.deepEqual(f.v, o.v); },
  },
  {
    name: '1-px person (model = frame size): that pixel kept, far pixels coloured', w: 16, h: 8, mw: 16, mh: 8,
    model: (mw, mh) => { const m = new Uint8Array(mw * mh); m[3 * mw + 5] = 255; return m; },
    check: (o, f) => {
      assert.equal(f.y[3 * 16 + 5], o.y[3 * 16 + 5]);
      assert.equal(f.y[0], 181);
      assert.equal(f.y[7 * 16 + 15], 181);
    },
  },
  {
    name: 'left half person on a width not a multiple of 4 (26x10)', w: 26, h: 10, mw: 26, mh: 10,
    model: (mw, mh) => Uint8Array.from({ length: mw * mh }, (_, i) => (i % mw < 13 ? 255 : 0)),
    check: (o, f) => {
      for (let y = 0; y < 10; y++) {
        for (let x = 0; x < 12; x++) assert.equal(f.y[y * 26 + x], o.y[y * 26 + x], `kept ${x},${y}`);
        for (let x = 14; x < 26; x++) assert.equal(f.y[y * 26 + x], 181, `coloured ${x},${y}`);
      }
    },
  },
];

test('compositeColor table (runs path and per-pixel path agree)', () => {
  for (const c of cases) {
    const orig = noiseFrame(c.w, c.h, 11);
    const [planes, perPixel] = alphaFor(c.model(c.mw, c.mh), c.mw, c.mh, c.w, c.h);
    const fast = cloneFrame(orig);
    compositeColor(fast, planes, color);
    c.check(orig, fast);
    const slow = cloneFrame(orig);
    compositeColor(slow, perPixel, color);
    assert.deepEqual(fast.y, slow.y, c.name);
    assert.deepEqual(fast.u, slow.u, c.name);
    assert.deepEqual(fast.v, slow.v, c.name);
  }
});

test('compositeColor on a soft matte: each pixel is blend(frame, colour, alpha)', () => {
  const w = 40, h = 20;
  const model = Uint8Array.from({ length: 10 * 5 }, (_, i) => (i * 37) & 255);
  const orig = noiseFrame(w, h, 5);
  const [planes] = alphaFor(model, 10, 5, w, h);
  const f = cloneFrame(orig);
  compositeColor(f, planes, color);
  for (let i = 0; i < w * h; i++) assert.equal(f.y[i], blend(orig.y[i], 181, planes.y[i]), `y ${i}`);
  for (let i = 0; i < (w / 2) * (h / 2); i++) assert.equal(f.u[i], blend(orig.u[i], 128, planes.c[i]), `u ${i}`);
});

test('compositePlanes: background planes where alpha 0, frame where 255, blend between; both paths agree', () => {
  const w = 38, h = 14;
  const model = Uint8Array.from({ length: 19 * 7 }, (_, i) => (i % 19 < 6 ? 0 : i % 19 > 12 ? 255 : (i * 41) & 255));
  const orig = noiseFrame(w, h, 21);
  const bgFrame = noiseFrame(w, h, 99);
  const background: YuvPlanes = { width: w, height: h, y: bgFrame.y, u: bgFrame.u, v: bgFrame.v };
  const [planes, perPixel] = alphaFor(model, 19, 7, w, h);
  const fast = cloneFrame(orig);
  compositePlanes(fast, planes, background);
  for (let i = 0; i < w * h; i++) assert.equal(fast.y[i], blend(orig.y[i], bgFrame.y[i], planes.y[i]), `y ${i}`);
  for (let i = 0; i < (w / 2) * (h / 2); i++) assert.equal(fast.v[i], blend(orig.v[i], bgFrame.v[i], planes.c[i]), `v ${i}`);
  const slow = cloneFrame(orig);
  compositePlanes(slow, perPixel, background);
  assert.deepEqual(fast, slow);
});

test('compositePlanes rejects a background of another size', () => {
  const f = noiseFrame(8, 4, 1);
  const bg: YuvPlanes = { width: 4, height: 4, y: new Uint8Array(16), u: new Uint8Array(4), v: new Uint8Array(4) };
  assert.throws(() => compositePlanes(f, createAlphaPlanes(8, 4), bg), RangeError);
});

test('blendSpanWithValue equals blend for every frame value and alpha, on odd span bounds', () => {
  for (const bg of [0, 16, 128, 181, 235, 255]) {
    const plane = new Uint8Array(256 * 256 + 3);
    const alpha = new Uint8Array(plane.length);
    for (let i = 0; i < 256 * 256; i++) { plane[i + 1] = i & 255; alpha[i + 1] = i >> 8; }
    plane[0] = 7; plane[plane.length - 1] = 9;
    blendSpanWithValue(plane, alpha, bg, 1, plane.length - 2);
    for (let i = 0; i < 256 * 256; i++) assert.equal(plane[i + 1], blend(i & 255, bg, i >> 8), `bg ${bg} fg ${i & 255} a ${i >> 8}`);
    assert.equal(plane[0], 7);
    assert.equal(plane[plane.length - 1], 9);
  }
});
