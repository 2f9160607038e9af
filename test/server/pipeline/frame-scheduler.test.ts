import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameScheduler, type DecodedFrame } from '../../../server/pipeline/frame-scheduler.ts';

const frame = (index: number): DecodedFrame => ({ index, yuv: new Uint8Array([index]), decodedAt: 0 });

function deferred() {
  let resolve!: (v: Uint8Array) => void; let reject!: (e: unknown) => void;
  const promise = new Promise<Uint8Array>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

test('frames come out in order, one output per input, with drops repeating the last output', async () => {
  const pending: { f: DecodedFrame; d: ReturnType<typeof deferred> }[] = [];
  const written: number[] = [];
  const dropped: number[] = [];
  const s = new FrameScheduler((f) => { const d = deferred(); pending.push({ f, d }); return d.promise; }, {
    write: (out) => written.push(out[0]),
    onDrop: (f) => dropped.push(f.index),
    blank: () => new Uint8Array([255]),
  }, 2);
  for (let i = 0; i < 6; i++) s.push(frame(i)); // 0 runs; 1..5 wait, the queue holds 2: 1, 2, 3 dropped
  assert.deepEqual(dropped, [1, 2, 3]);
  assert.equal(pending.length, 1);
  pending[0].d.resolve(new Uint8Array([100]));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(written, [100, 100, 100, 100]);
  pending[1].d.resolve(new Uint8Array([104]));
  await new Promise((r) => setImmediate(r));
  pending[2].d.resolve(new Uint8Array([105]));
  await s.idle();
  assert.deepEqual(written, [100, 100, 100, 100, 104, 105]);
});

test('a failed frame repeats the last output, or a blank frame when there is none', async () => {
  const written: number[] = [];
  const errors: number[] = [];
  let n = 0;
  const s = new FrameScheduler(async (f) => {
    n += 1;
    if (f.index === 0 || f.index === 2) throw new Error('boom');
    return new Uint8Array([f.index * 10]);
  }, { write: (out) => written.push(out[0]), onError: (_e, f) => errors.push(f.index), blank: () => new Uint8Array([7]) }, 10);
  // A failed worker leaves the transferred input detached: emulate by an empty input buffer.
  s.push({ ...frame(0), yuv: new Uint8Array(0) });
  s.push(frame(1));
  s.push(frame(2));
  await s.idle();
  assert.equal(n, 3);
  assert.deepEqual(errors, [0, 2]);
  assert.deepEqual(written, [7, 10, 10]);
});

test('a frame that failed before any output goes out as decoded, unless a fail-closed plugin forbids it (then blank)', async () => {
  for (const [mayPassFailed, expected] of [[true, 0], [false, 7]] as const) {
    const written: number[] = [];
    const s = new FrameScheduler(async () => { throw new Error('failed before the pool took the frame'); },
      { write: (out) => written.push(out[0]), blank: () => new Uint8Array([7]), mayPassFailed: () => mayPassFailed }, 10);
    s.push(frame(0)); // its buffer is intact (not detached): it could go out as decoded
    await s.idle();
    assert.deepEqual(written, [expected]);
  }
});

test('release: dropped inputs and replaced outputs are handed back, never the buffer still repeated', async () => {
  const pending: ReturnType<typeof deferred>[] = [];
  const written: Uint8Array[] = [];
  const released: Uint8Array[] = [];
  const s = new FrameScheduler(() => { const d = deferred(); pending.push(d); return d.promise; }, {
    write: (out) => written.push(out),
    blank: () => new Uint8Array([255]),
    release: (b) => released.push(b),
  }, 1);
  const frames = [0, 1, 2].map(frame);
  for (const f of frames) s.push(f); // 0 runs, 1 dropped, 2 waits
  const out0 = new Uint8Array([100]);
  pending[0]!.resolve(out0);
  await new Promise((r) => setImmediate(r));
  // Frame 0's input is released (its output is another buffer); frame 1 was dropped: its input is
  // released and out0 repeats in its place, so out0 is not released yet.
  assert.deepEqual(written, [out0, out0]);
  assert.ok(released.includes(frames[0]!.yuv) && released.includes(frames[1]!.yuv));
  assert.ok(!released.includes(out0));
  const out2 = new Uint8Array([102]);
  pending[1]!.resolve(out2);
  await s.idle();
  assert.deepEqual(written, [out0, out0, out2]);
  assert.ok(released.includes(out0), 'the last output is released once another replaces it');
  assert.ok(!released.includes(out2), 'the current last output is kept for repeats');
});

test('a stalled frame holds no more than the queue: frames dropped behind it are released at once', async () => {
  const pending: ReturnType<typeof deferred>[] = [];
  const written: Uint8Array[] = [];
  const released = new Set<Uint8Array>();
  const s = new FrameScheduler(() => { const d = deferred(); pending.push(d); return d.promise; }, {
    write: (out) => written.push(out),
    blank: () => new Uint8Array([255]),
    release: (b) => { assert.ok(!released.has(b), 'released twice'); released.add(b); },
  }, 3);
  // Frame 0 is the stream's first and is processed; then 3 s of frames arrive while it stalls.
  const frames = Array.from({ length: 91 }, (_, i) => frame(i));
  for (const f of frames) s.push(f);
  assert.equal(pending.length, 1);
  const held = frames.filter((f) => !released.has(f.yuv) && f.yuv.byteLength > 0);
  assert.deepEqual(held.map((f) => f.index), [0, 88, 89, 90], 'the running frame and the 3 queued ones');
  const out0 = new Uint8Array([100]);
  pending[0]!.resolve(out0);
  await new Promise((r) => setImmediate(r));
  // Frame 0's output repeats for each dropped frame.
  assert.equal(written.length, 88);
  assert.ok(written.every((o) => o === out0));
  for (let i = 1; i <= 3; i++) {
    await new Promise((r) => setImmediate(r));
    pending[i]!.resolve(new Uint8Array([100 + i]));
  }
  await s.idle();
  assert.deepEqual(written.slice(88).map((o) => o[0]), [101, 102, 103]);
});
