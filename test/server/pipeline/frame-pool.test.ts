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
