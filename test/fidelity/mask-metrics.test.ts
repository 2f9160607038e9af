import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareMasks } from './mask-metrics.ts';

const cases: Array<{ name: string; a: number[]; b: number[]; iou: number; mad: number; maxAbsDiff: number }> = [
  { name: 'identical', a: [0, 255, 128, 10], b: [0, 255, 128, 10], iou: 1, mad: 0, maxAbsDiff: 0 },
  { name: 'both empty counts as agreement', a: [0, 0, 127], b: [0, 10, 0], iou: 1, mad: 137 / 3 / 255, maxAbsDiff: 127 / 255 },
  { name: '128 is foreground, 127 is not', a: [128, 128], b: [127, 128], iou: 0.5, mad: 0.5 / 255, maxAbsDiff: 1 / 255 },
  { name: 'disjoint', a: [255, 0], b: [0, 255], iou: 0, mad: 1, maxAbsDiff: 1 },
  { name: 'partial overlap', a: [255, 255, 255, 0], b: [0, 255, 255, 255], iou: 0.5, mad: 0.5, maxAbsDiff: 1 },
];

for (const c of cases) {
  test(`compareMasks: ${c.name}`, () => {
    const r = compareMasks(Uint8Array.from(c.a), Uint8Array.from(c.b));
    assert.equal(r.iou, c.iou);
    assert.ok(Math.abs(r.mad - c.mad) < 1e-12, `mad ${r.mad} != ${c.mad}`);
    assert.ok(Math.abs(r.maxAbsDiff - c.maxAbsDiff) < 1e-12, `maxAbsDiff ${r.maxAbsDiff} != ${c.maxAbsDiff}`);
  });
}

test('compareMasks: rejects masks of different sizes', () => {
  assert.throws(() => compareMasks(new Uint8Array(4), new Uint8Array(5)), /sizes differ/);
});
