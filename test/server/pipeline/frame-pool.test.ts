import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FramePool } from '../../../server/pipeline/frame-pool.ts';

test('take reuses given buffers of the same size, whole ArrayBuffers only, up to the cap', () => {
  const pool = new FramePool(2);
  const a = pool.take(16);
  assert.equal(a.byteLength, 16);
  assert.equal(a.buffer.byteLength, 16, 'a whole ArrayBuffer, so it can be moved to a worker');
  pool.give(a);
  pool.give(a); // twice: kept once
  assert.equal(pool.freeCount, 1);
  assert.equal(pool.take(16), a);
  assert.notEqual(pool.take(16), a, 'a taken buffer is not handed out again');
  assert.deepEqual([pool.allocated, pool.reused], [2, 1]);
  pool.give(new Uint8Array(new ArrayBuffer(32), 0, 16)); // part of a bigger buffer
  pool.give(new Uint8Array(0)); // detached or empty
  assert.equal(pool.freeCount, 0);
  for (let i = 0; i < 5; i++) pool.give(new Uint8Array(16));
  assert.equal(pool.freeCount, 2, 'capped per size');
  assert.equal(pool.take(8).byteLength, 8, 'another size allocates');
});

test('a moved (detached) buffer is refused', () => {
  const pool = new FramePool();
  const a = pool.take(64);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  pool.give(a);
  assert.equal(pool.freeCount, 0);
});

test('a burst of buffers that comes back is kept for the next burst, not allocated again', () => {
  const pool = new FramePool();
  for (let round = 0; round < 3; round++) {
    const out = Array.from({ length: 30 }, () => pool.take(16));
    for (const b of out) pool.give(b);
  }
  assert.deepEqual([pool.allocated, pool.reused], [30, 60]);
});

test('buffers left free through a whole 10 s window are released, down to 4', () => {
  let clock = 0;
  const pool = new FramePool(64, () => clock);
  const burst = Array.from({ length: 20 }, () => pool.take(16));
  for (const b of burst) pool.give(b);
  // Steady use of 2 buffers at a time for 25 s: 18 of the 20 are never needed.
  for (; clock < 25_000; clock += 33) {
    const a = pool.take(16); const b = pool.take(16);
    pool.give(a); pool.give(b);
  }
  assert.equal(pool.allocated, 20);
  assert.equal(pool.freeCount, 4, 'kept: the minimum');
  assert.equal(pool.trimmed, 16);
  // A window in which every buffer was used releases nothing.
  const all = Array.from({ length: 4 }, () => pool.take(16));
  for (const b of all) pool.give(b);
  clock += 10_001;
  pool.give(pool.take(16));
  assert.equal(pool.trimmed, 16);
});
