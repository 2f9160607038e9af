import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { InferencePool } from '../../../server/inference/inference-pool.ts';
import type { FrameTask } from '../../../server/inference/frame-task.ts';

const pool = new InferencePool({ workers: 2, intraOpThreads: 1 });
after(() => pool.close());

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).href;

function task(workerModule: string, fill: number, state: unknown = undefined): FrameTask {
  const yuv = new Uint8Array(4 * 4 * 3 / 2).fill(fill);
  return {
    streamPath: '/live/test', width: 4, height: 4, index: 0, ptsMs: 0, yuv: yuv.buffer,
    plugins: [{ name: 'fixture', workerModule, options: {}, state }], modelIntervalFrames: 1,
  };
}

test('a frame goes to a worker and comes back edited, its buffer moved both ways, state carried', async () => {
  const t = task(fixture('invert-plugin-worker.ts'), 10, 41);
  const result = await pool.run(t);
  assert.equal(t.yuv.byteLength, 0, 'the input buffer was transferred, not copied');
  const y = new Uint8Array(result.yuv, 0, 16);
  assert.ok(y.every((v) => v === 245));
  assert.deepEqual(result.states, [42]);
  assert.deepEqual(result.errors, []);
  assert.ok(result.timings.workerMs >= 0);
});

test('a worker thread that dies rejects its frame, and the pool goes on with a new thread', async () => {
  const threadsBefore = pool.threads;
  await assert.rejects(pool.run(task(fixture('exiting-plugin-worker.ts'), 0)));
  const results = await Promise.all([1, 2, 3, 4].map((n) => pool.run(task(fixture('invert-plugin-worker.ts'), n))));
  results.forEach((r, i) => assert.equal(new Uint8Array(r.yuv)[0], 255 - (i + 1)));
  assert.equal(pool.threads, threadsBefore, 'the dead thread was replaced');
});

test('a plugin module that fails to load becomes a per-frame plugin error, not a lost frame', async () => {
  const result = await pool.run(task(fixture('no-such-plugin-worker.ts'), 7));
  assert.equal(result.errors.length, 1);
  assert.match(result.errors[0], /^fixture: /);
  assert.equal(new Uint8Array(result.yuv)[0], 7, 'the frame passed unprocessed');
});
