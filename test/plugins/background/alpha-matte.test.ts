import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confidenceToAlpha } from '../../../plugins/background/alpha-matte.ts';

function alphaOf(values: number[], threshold: number, softness: number): number[] {
  return [...confidenceToAlpha(Float32Array.from(values), threshold, softness, new Uint8Array(values.length))];
}

test('confidenceToAlpha table', () => {
  const cases: { name: string; c: number[]; t: number; s: number; expected: number[] }[] = [
    { name: 'all zero mask', c: [0, 0, 0], t: 0.5, s: 0.15, expected: [0, 0, 0] },
    { name: 'all one mask', c: [1, 1, 1], t: 0.5, s: 0.15, expected: [255, 255, 255] },
    { name: 'threshold is half person', c: [0.5], t: 0.5, s: 0.15, expected: [128] },
    { name: 'ramp ends', c: [0.35, 0.65, 0.3, 0.7], t: 0.5, s: 0.15, expected: [0, 255, 0, 255] },
    { name: 'hard edge at 0 softness', c: [0.49, 0.5, 0.51], t: 0.5, s: 0, expected: [0, 255, 255] },
    { name: 'threshold 0 softness 0: everything person', c: [0, 0.2], t: 0, s: 0, expected: [255, 255] },
    { name: 'threshold 1 softness 0: only 1 is person', c: [0.99, 1], t: 1, s: 0, expected: [0, 255] },
    { name: 'smoothstep quarter point', c: [0.425], t: 0.5, s: 0.15, expected: [Math.round(255 * 0.15625)] },
    { name: 'ramp beyond 0..1 still clamps', c: [0, 1], t: 0.9, s: 0.5, expected: [0, Math.round(255 * (0.6 * 0.6 * (3 - 1.2)))] },
  ];
  for (const c of cases) assert.deepEqual(alphaOf(c.c, c.t, c.s), c.expected, c.name);
});

test('confidenceToAlpha is monotonic in confidence', () => {
  const values = Array.from({ length: 1001 }, (_, i) => i / 1000);
  const alpha = alphaOf(values, 0.5, 0.15);
  for (let i = 1; i < alpha.length; i++) assert.ok(alpha[i] >= alpha[i - 1], `i=${i}`);
});

test('confidenceToAlpha rejects a wrong-size output', () => {
  assert.throws(() => confidenceToAlpha(new Float32Array(4), 0.5, 0.1, new Uint8Array(5)), RangeError);
});
