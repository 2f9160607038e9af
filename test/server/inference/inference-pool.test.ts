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
    plugins: [{ name: 'fixture', workerModule, options: {}, state, failurePolicy: 'pass-through' }], modelIntervalFrames: 1,
  };
}

/** chainTask runs the invert plugin, then the fail-closed guard plugin with `options`. */
function chainTask(options: Record<string, unknown>, guardState?: unknown): FrameTask {
  const t = task(fixture('invert-plugin-worker.ts'), 10);
  t.plugins.push({ name: 'guard', workerModule: fixture('guard-plugin-worker.ts'), options, state: guardState, failurePolicy: 'fail-closed' });
  return t;
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

test('analyse runs on the decoded pixels before any process, and detections and gauges come back', async () => {
  const result = await pool.run(chainTask({ fail: 'none' }));
  const y = new Uint8Array(result.yuv, 0, 16);
  assert.equal((result.states[1] as { seenLuma: number }).seenLuma, 10, 'the guard analysed the frame before invert edited it');
  assert.equal(y[0], 200, 'then guard drew after invert');
  assert.equal(y[1], 245, 'invert edited the frame');
  assert.equal(result.detections.length, 1);
  assert.equal(result.detections[0]!.trackId, 7);
  assert.deepEqual(result.gauges, { 'guard.faces': 1 });
  assert.deepEqual(result.covered, []);
});

test('a fail-closed plugin that throws is covered by its own cover, keeping its previous state', async () => {
  for (const fail of ['analyse', 'process']) {
    const result = await pool.run(chainTask({ fail }, { seenLuma: 1, frames: 5 }));
    const y = new Uint8Array(result.yuv, 0, 16);
    assert.deepEqual(result.covered, [{ plugin: 'guard', by: 'plugin' }], fail);
    assert.equal(result.errors.length, 1, fail);
    assert.deepEqual([y[0], y[1], y[2]], [100, 100, 245], `${fail}: cover painted its region, the rest stays invert's`);
    assert.deepEqual(result.states[1], { seenLuma: 1, frames: 5 }, `${fail}: the previous state is kept`);
  }
});

test('a fail-closed plugin whose cover fails too leaves the whole frame covered, never the decoded frame', async () => {
  const result = await pool.run(chainTask({ fail: 'process', coverFails: true }));
  const planes = new Uint8Array(result.yuv);
  assert.deepEqual(result.covered, [{ plugin: 'guard', by: 'frame' }]);
  assert.ok(planes.subarray(0, 16).every((v) => v === 16), 'luma black');
  assert.ok(planes.subarray(16).every((v) => v === 128), 'chroma neutral');
});

test('a fail-closed plugin whose module does not load covers the whole frame', async () => {
  const t = task(fixture('no-such-plugin-worker.ts'), 90);
  t.plugins[0]!.failurePolicy = 'fail-closed';
  const result = await pool.run(t);
  assert.deepEqual(result.covered, [{ plugin: 'fixture', by: 'frame' }]);
  assert.equal(new Uint8Array(result.yuv)[0], 16);
});
