import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaPipeUncertainty, smoothMask } from '../../../plugins/background/mask-smoothing.ts';

test('mediaPipeUncertainty: 1 at p = 0.5, 0 at confident 0 and 1, symmetric', () => {
  const cases: [number, number][] = [[0.5, 1], [0, 0], [1, 0]];
  for (const [p, expected] of cases) assert.ok(Math.abs(mediaPipeUncertainty(p) - expected) < 1e-3, `p=${p}`);
  for (const p of [0.1, 0.25, 0.4]) assert.ok(Math.abs(mediaPipeUncertainty(p) - mediaPipeUncertainty(1 - p)) < 1e-6, `p=${p}`);
  assert.ok(mediaPipeUncertainty(0.4) > mediaPipeUncertainty(0.2));
});

test('mediaPipeUncertainty falls monotonically as p moves away from 0.5; polynomial spot value', () => {
  let previous = mediaPipeUncertainty(0.5);
  for (let d = 0.01; d <= 0.5; d += 0.01) {
    const u = mediaPipeUncertainty(0.5 + d);
    assert.ok(u <= previous + 1e-9, `d=${d}`);
    previous = u;
  }
  // x = (0.3 - 0.5)^2 = 0.04 in MediaPipe's polynomial.
  const x = 0.04;
  const expected = 1 - x * (5.68842 + x * (-0.748699 + x * (-57.8051 + x * (291.309 + x * -624.717))));
  assert.ok(Math.abs(mediaPipeUncertainty(0.3) - expected) < 1e-9);
});

test('smoothMask table', () => {
  const cases: { name: string; current: number[]; previous?: number[]; ratio: number; expected: (c: number[], p?: number[]) => number[] }[] = [
    { name: 'no previous: copy', current: [0.1, 0.9], ratio: 0.7, expected: (c) => c },
    { name: 'ratio 0: copy', current: [0.5, 0.6], previous: [0, 1], ratio: 0, expected: (c) => c },
    { name: 'length mismatch: copy', current: [0.5, 0.6], previous: [0], ratio: 1, expected: (c) => c },
    { name: 'confident pixels ignore the past', current: [0, 1], previous: [1, 0], ratio: 1, expected: (c) => c },
    { name: 'p = 0.5 with ratio 1 takes the past', current: [0.5, 0.5], previous: [0, 1], ratio: 1, expected: (_c, p) => p! },
    { name: 'p = 0.5 with ratio 0.7 mixes 70 % past', current: [0.5], previous: [1], ratio: 0.7, expected: () => [0.5 + 0.5 * 0.7] },
  ];
  for (const c of cases) {
    const current = Float32Array.from(c.current);
    const out = smoothMask(current, c.previous ? Float32Array.from(c.previous) : undefined, c.ratio, new Float32Array(current.length));
    const expected = c.expected(c.current, c.previous);
    out.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-3, `${c.name}: [${i}] ${v} vs ${expected[i]}`));
  }
});

test('smoothMask result stays between current and previous and may alias current', () => {
  const current = Float32Array.from({ length: 101 }, (_, i) => i / 100);
  const previous = Float32Array.from({ length: 101 }, (_, i) => 1 - i / 100);
  const copy = Float32Array.from(current);
  const out = smoothMask(current, previous, 0.7, current);
  assert.equal(out, current);
  for (let i = 0; i < out.length; i++) {
    const lo = Math.min(copy[i], previous[i]);
    const hi = Math.max(copy[i], previous[i]);
    assert.ok(out[i] >= lo - 1e-6 && out[i] <= hi + 1e-6, `i=${i}`);
  }
});

test('smoothMask rejects a wrong-size output', () => {
  assert.throws(() => smoothMask(new Float32Array(4), undefined, 0.5, new Float32Array(3)), RangeError);
});

test('smoothMask may write into previous (the worker reuses the state array)', () => {
  const current = Float32Array.from([0.5, 0.9, 0.1]);
  const previous = Float32Array.from([1, 0, 0.4]);
  const expected = smoothMask(current, Float32Array.from(previous), 0.7, new Float32Array(3));
  const out = smoothMask(current, previous, 0.7, previous);
  assert.equal(out, previous);
  assert.deepEqual([...out], [...expected]);
});
