/**
 * Server-wide plugin data: a published datum crosses to a real worker thread as shared memory
 * (the same bytes, no copy), each version is decoded once per thread, a new publish is a new
 * version, and a corrupt blob is left out instead of failing the frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { decodeSharedBlob, encodeSharedBlob, PluginSharedData, SharedDataCache } from '../../../server/pipeline/plugin-shared-data.ts';

test('encode and decode: meta and payload round-trip, the payload is a view of the shared memory', () => {
  const blob = encodeSharedBlob(3, { dims: 2, people: [{ id: 'a', name: 'Zoë' }], owners: [0, 0] }, Float32Array.from([1, 2, 3, 4]));
  const d = decodeSharedBlob<{ people: { name: string }[] }>(blob);
  assert.equal(d.version, 3);
  assert.equal(d.meta.people[0]!.name, 'Zoë');
  assert.deepEqual([...d.data], [1, 2, 3, 4]);
  assert.equal(d.data.buffer, blob.buffer);
  assert.throws(() => decodeSharedBlob({ version: 1, buffer: new SharedArrayBuffer(2) }), RangeError);
  const bad = new SharedArrayBuffer(8);
  new DataView(bad).setUint32(0, 1000, true);
  assert.throws(() => decodeSharedBlob({ version: 1, buffer: bad }), RangeError);
});

test('publish: versions rise, snapshots are immutable, withdraw removes; the cache decodes a version once', () => {
  const hub = new PluginSharedData();
  const first = hub.snapshot();
  hub.publish('gallery', { n: 1 }, new Float32Array(1));
  const second = hub.snapshot();
  assert.deepEqual(first, {}, 'an older snapshot does not change');
  assert.equal(second.gallery!.version, 1);
  hub.publish('gallery', { n: 2 }, new Float32Array(1));
  assert.equal(hub.snapshot().gallery!.version, 2);
  const cache = new SharedDataCache();
  const a = cache.view(hub.snapshot()).gallery;
  assert.equal(cache.view(hub.snapshot()).gallery, a, 'same version: the same decoded object');
  assert.deepEqual(a!.meta, { n: 2 });
  const broken = { gallery: { version: 9, buffer: new SharedArrayBuffer(1) } };
  assert.deepEqual(cache.view(broken), {}, 'a blob that does not decode is left out');
  hub.withdraw('gallery');
  assert.deepEqual(cache.view(hub.snapshot()), {});
});

test('a real worker thread reads the same memory: a write on one side is seen on the other', async () => {
  const blob = encodeSharedBlob(1, { dims: 1 }, Float32Array.from([7]));
  const source = `
    const { parentPort } = require('node:worker_threads');
    parentPort.once('message', ({ buffer }) => {
      const view = new Float32Array(buffer, buffer.byteLength - 4, 1);
      const before = view[0];
      view[0] = 42;
      parentPort.postMessage({ before, bytes: buffer.byteLength });
    });`;
  const worker = new Worker(source, { eval: true });
  const reply = new Promise<{ before: number; bytes: number }>((resolve) => worker.once('message', resolve));
  worker.postMessage(blob);
  const { before, bytes } = await reply;
  await worker.terminate();
  assert.equal(before, 7);
  assert.equal(bytes, blob.buffer.byteLength);
  assert.equal(decodeSharedBlob(blob).data[0], 42, 'the worker wrote into the same memory: nothing was copied');
});
