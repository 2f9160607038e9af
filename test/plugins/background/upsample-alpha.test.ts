import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RUN_BACKGROUND, RUN_PERSON, type MatteRuns } from '../../../plugins/background/matte-runs.ts';
import { axisTable, createAlphaPlanes, resizeBilinear, upsampleAlpha, upsampleMatte } from '../../../plugins/background/upsample-alpha.ts';
import { createMatteRuns } from '../../../plugins/background/matte-runs.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) >>> 24);
}

/** Person ellipse with a soft edge, like a real matte. */
function ellipseMatte(w: number, h: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const d = Math.hypot((x - w / 2) / (w / 4), (y - h * 0.6) / (h / 3));
      m[y * w + x] = Math.round(255 * Math.min(1, Math.max(0, (1.1 - d) * 5)));
    }
  }
  return m;
}

const mattes: { name: string; w: number; h: number; data: (w: number, h: number) => Uint8Array }[] = [
  { name: 'all zero', w: 16, h: 9, data: (w, h) => new Uint8Array(w * h) },
  { name: 'all 255', w: 16, h: 9, data: (w, h) => new Uint8Array(w * h).fill(255) },
  { name: '1-px person', w: 16, h: 9, data: (w, h) => { const m = new Uint8Array(w * h); m[4 * w + 7] = 255; return m; } },
  { name: 'random noise', w: 13, h: 7, data: (w, h) => { const r = lcg(7); return Uint8Array.from({ length: w * h }, () => r()); } },
  { name: 'ellipse 256x256', w: 256, h: 256, data: ellipseMatte },
  { name: 'ellipse 256x144', w: 256, h: 144, data: ellipseMatte },
];
const sizes: [number, number][] = [[1280, 720], [640, 360], [22, 6], [30, 18], [8, 4], [100, 60]];

test('resizeBilinear: half-pixel centres on a 2 -> 4 ramp', () => {
  const out = resizeBilinear(Uint8Array.from([0, 255]), 2, 1, new Uint8Array(4), 4, 1);
  assert.deepEqual([...out], [0, 64, 191, 255]);
});

test('resizeBilinear: same size is identity, constant stays constant', () => {
  const r = lcg(3);
  const src = Uint8Array.from({ length: 10 * 6 }, () => r());
  assert.deepEqual([...resizeBilinear(src, 10, 6, new Uint8Array(60), 10, 6)], [...src]);
  const flat = resizeBilinear(new Uint8Array(12).fill(77), 4, 3, new Uint8Array(22 * 6), 22, 6);
  assert.ok(flat.every((v) => v === 77));
});

test('resizeBilinear: 2x upsampling of a step keeps the edge centred (symmetric)', () => {
  const src = Uint8Array.from([0, 0, 255, 255]);
  const out = resizeBilinear(src, 4, 1, new Uint8Array(8), 8, 1);
  for (let i = 0; i < 4; i++) assert.equal(out[i] + out[7 - i], 255, `i=${i}`);
});

test('axisTable: taps stay in range and firstAtOrAfter / endWithin bracket them', () => {
  for (const [s, d] of [[256, 1280], [144, 720], [7, 22], [256, 100], [1, 5]]) {
    const t = axisTable(s, d);
    for (let x = 0; x < d; x++) {
      assert.ok(t.i0[x] >= 0 && t.i1[x] < s && t.i1[x] - t.i0[x] <= 1 && t.w1[x] >= 0 && t.w1[x] < 256, `${s}->${d} x=${x}`);
    }
    for (let a = 0; a < s; a++) {
      const f = t.firstAtOrAfter[a];
      if (f < d) assert.ok(t.i0[f] >= a && (f === 0 || t.i0[f - 1] < a));
      const e = t.endWithin[a];
      if (e > 0) assert.ok(t.i1[e - 1] <= a);
      if (e < d) assert.ok(t.i1[e] > a);
    }
  }
});

function checkRuns(runs: MatteRuns, plane: Uint8Array, width: number, height: number, label: string): void {
  for (let y = 0; y < height; y++) {
    let cursor = 0;
    for (let k = runs.rowStart[y]; k < runs.rowStart[y + 1]; k++) {
      const [start, end, kind] = [runs.data[k * 3], runs.data[k * 3 + 1], runs.data[k * 3 + 2]];
      assert.equal(start, cursor, `${label}: row ${y} runs contiguous`);
      assert.ok(end > start, `${label}: row ${y} run not empty`);
      if (kind === RUN_BACKGROUND || kind === RUN_PERSON) {
        for (let x = start; x < end; x++) assert.equal(plane[y * width + x], kind, `${label}: row ${y} x ${x} kind ${kind}`);
      }
      cursor = end;
    }
    assert.equal(cursor, width, `${label}: row ${y} covered`);
  }
}

test('upsampleMatte equals resizeBilinear and its runs describe the output (table of mattes x sizes)', () => {
  for (const m of mattes) {
    const src = m.data(m.w, m.h);
    for (const [w, h] of sizes) {
      const label = `${m.name} -> ${w}x${h}`;
      const reference = resizeBilinear(src, m.w, m.h, new Uint8Array(w * h), w, h);
      const fast = new Uint8Array(w * h).fill(99);
      const runs = upsampleMatte(src, m.w, m.h, fast, w, h, createMatteRuns(h));
      assert.deepEqual(fast, reference, label);
      checkRuns(runs, fast, w, h, label);
    }
  }
});

test('upsampleMatte: all-zero and all-255 mattes give one run per row', () => {
  for (const [value, kind] of [[0, RUN_BACKGROUND], [255, RUN_PERSON]] as const) {
    const runs = upsampleMatte(new Uint8Array(64).fill(value), 8, 8, new Uint8Array(22 * 6), 22, 6, createMatteRuns(6));
    assert.equal(runs.count, 6);
    for (let y = 0; y < 6; y++) assert.deepEqual([...runs.data.subarray(y * 3, y * 3 + 3)], [0, 22, kind]);
  }
});

test('upsampleAlpha fills luma and chroma planes from the model matte', () => {
  const src = ellipseMatte(256, 256);
  const planes = createAlphaPlanes(1280, 720);
  upsampleAlpha(src, 256, 256, 1280, 720, planes);
  assert.deepEqual(planes.y, resizeBilinear(src, 256, 256, new Uint8Array(1280 * 720), 1280, 720));
  assert.deepEqual(planes.c, resizeBilinear(src, 256, 256, new Uint8Array(640 * 360), 640, 360));
  checkRuns(planes.cRuns, planes.c, 640, 360, 'chroma');
});

test('resizeBilinear / upsampleMatte reject short buffers', () => {
  assert.throws(() => resizeBilinear(new Uint8Array(3), 2, 2, new Uint8Array(16), 4, 4), RangeError);
  assert.throws(() => upsampleMatte(new Uint8Array(4), 2, 2, new Uint8Array(15), 4, 4), RangeError);
  assert.throws(() => upsampleMatte(new Uint8Array(4), 2, 2, new Uint8Array(16), 4, 4, createMatteRuns(3)), RangeError);
});

/** Blocky random matte: runs of 0, 255 and noise of random lengths, so flat intervals start and end anywhere. */
function blockyMatte(w: number, h: number, seed: number): Uint8Array {
  const r = lcg(seed);
  const m = new Uint8Array(w * h);
  for (let i = 0; i < m.length;) {
    const len = 1 + (r() & 15);
    const kind = r() % 3;
    for (let k = 0; k < len && i < m.length; k++, i++) m[i] = kind === 0 ? 0 : kind === 1 ? 255 : r();
  }
  return m;
}

test('upsampleAlpha equals the per-pixel resizeBilinear on odd, unaligned and not-multiple-of-4 sizes', () => {
  const shapes: [number, number, number, number][] = [
    // model w, h -> frame w, h
    [256, 144, 1280, 720], [256, 256, 1280, 720], [256, 144, 1920, 1080], [17, 9, 1278, 718],
    [33, 19, 250, 142], [30, 18, 98, 54], [7, 5, 22, 10], [64, 36, 640, 360], [256, 144, 256, 144],
  ];
  for (const [mw, mh, w, h] of shapes) {
    for (const [name, matte] of [
      ['ellipse', ellipseMatte(mw, mh)],
      ['blocky', blockyMatte(mw, mh, mw * 31 + mh)],
      ['noise', Uint8Array.from({ length: mw * mh }, lcg(mw + h))],
    ] as const) {
      // Also from an odd byte offset, so the word-at-a-time scan of the matte is not used.
      for (const offset of [0, 1]) {
        const backing = new Uint8Array(mw * mh + offset);
        backing.set(matte, offset);
        const src = backing.subarray(offset);
        const label = `${name} ${mw}x${mh} -> ${w}x${h} offset ${offset}`;
        const planes = upsampleAlpha(src, mw, mh, w, h, createAlphaPlanes(w, h));
        assert.deepEqual(planes.y, resizeBilinear(src, mw, mh, new Uint8Array(w * h), w, h), label);
        assert.deepEqual(planes.c, resizeBilinear(src, mw, mh, new Uint8Array((w >> 1) * (h >> 1)), w >> 1, h >> 1), label);
        checkRuns(planes.yRuns, planes.y, w, h, `${label} luma`);
        checkRuns(planes.cRuns, planes.c, w >> 1, h >> 1, `${label} chroma`);
      }
    }
  }
});

test('upsampleAlpha reuses its planes across mattes of different layouts (runs rewritten each call)', () => {
  const planes = createAlphaPlanes(250, 142);
  for (const seed of [1, 2, 3]) {
    const src = seed === 2 ? new Uint8Array(33 * 19) : blockyMatte(33, 19, seed);
    upsampleAlpha(src, 33, 19, 250, 142, planes);
    assert.deepEqual(planes.y, resizeBilinear(src, 33, 19, new Uint8Array(250 * 142), 250, 142));
    checkRuns(planes.yRuns, planes.y, 250, 142, `seed ${seed}`);
    assert.equal(planes.yRuns.rowStart[142], planes.yRuns.count);
  }
});
