import { test } from 'node:test';
import assert from 'node:assert/strict';
import { i420FrameSize, parseY4mHeader, Y4mReader } from '../../../server/pipeline/frame-reader.ts';

test('parseY4mHeader reads size, rate and colour space', () => {
  const cases: [string, { width: number; height: number; frameRate: string; fps: number }][] = [
    ['YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420mpeg2 XYSCSS=420MPEG2', { width: 640, height: 480, frameRate: '30/1', fps: 30 }],
    ['YUV4MPEG2 W1280 H720 F30000:1001 Ip A0:0 C420jpeg', { width: 1280, height: 720, frameRate: '30000/1001', fps: 30000 / 1001 }],
    ['YUV4MPEG2 W852 H478 F25:1', { width: 852, height: 478, frameRate: '25/1', fps: 25 }],
  ];
  for (const [line, want] of cases) assert.deepEqual({ ...parseY4mHeader(line), colorspace: undefined }, { ...want, colorspace: undefined });
});

test('parseY4mHeader rejects what the pipeline cannot use', () => {
  for (const line of ['RIFF', 'YUV4MPEG2 W0 H480 F30:1', 'YUV4MPEG2 W640 H480 F30:1 C444', 'YUV4MPEG2 W640 H480 F30:1 C420p10', 'YUV4MPEG2 W640 H480']) {
    assert.throws(() => parseY4mHeader(line), Error, line);
  }
});

test('i420FrameSize rounds chroma up for odd sizes', () => {
  assert.equal(i420FrameSize(640, 480), 640 * 480 * 1.5);
  assert.equal(i420FrameSize(853, 479), 853 * 479 + 2 * 427 * 240);
});

function y4mStream(width: number, height: number, frames: number): Buffer {
  const size = i420FrameSize(width, height);
  const parts = [Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420mpeg2\n`)];
  for (let i = 0; i < frames; i++) parts.push(Buffer.from('FRAME\n'), Buffer.alloc(size, i + 1));
  return Buffer.concat(parts);
}

test('Y4mReader cuts frames across any chunking', () => {
  const stream = y4mStream(6, 4, 5);
  for (const chunkSize of [1, 3, 7, 36, 1000]) {
    const frames: Uint8Array[] = [];
    let header: unknown;
    const reader = new Y4mReader((h) => { header = h; }, (f) => frames.push(f));
    for (let i = 0; i < stream.length; i += chunkSize) reader.push(stream.subarray(i, i + chunkSize));
    assert.deepEqual((header as { width: number }).width, 6);
    assert.equal(frames.length, 5, `chunk ${chunkSize}`);
    frames.forEach((f, i) => {
      assert.equal(f.byteLength, 36);
      assert.ok(f.every((b) => b === i + 1));
      assert.equal(f.byteOffset, 0, 'each frame owns its ArrayBuffer (transferable)');
      assert.equal(f.buffer.byteLength, 36);
    });
  }
});

test('Y4mReader rejects a missing FRAME marker', () => {
  const reader = new Y4mReader(() => {}, () => {});
  assert.throws(() => reader.push(Buffer.from('YUV4MPEG2 W2 H2 F30:1\nFRAMX\n')), /FRAME marker/);
});

test('Y4mReader fills buffers from its allocator, one whole buffer per frame, across chunk borders', () => {
  const sizes: number[] = [];
  const given: Uint8Array[] = [];
  const alloc = (size: number) => {
    sizes.push(size);
    const b = new Uint8Array(new ArrayBuffer(size)).fill(0xee); // recycled buffers hold old bytes
    given.push(b);
    return b;
  };
  const frames: Uint8Array[] = [];
  const reader = new Y4mReader(() => {}, (f) => frames.push(f), alloc);
  const stream = Buffer.concat([Buffer.from('YUV4MPEG2 W2 H2 F30:1 C420jpeg\nFRAME\n'), Buffer.from([1, 2, 3, 4, 5, 6]),
    Buffer.from('FRAME\n'), Buffer.from([7, 8, 9, 10, 11, 12])]);
  for (let i = 0; i < stream.length; i += 5) reader.push(stream.subarray(i, i + 5));
  assert.deepEqual(sizes, [6, 6]);
  assert.deepEqual(frames.map((f) => [...f]), [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]);
  assert.ok(frames.every((f, i) => f === given[i] && f.byteLength === f.buffer.byteLength));
});

test('Y4mReader.readTarget/wrote: frame bytes land in the frame itself, reads never cross a frame end', () => {
  const frames: Uint8Array[] = [];
  const reader = new Y4mReader(() => {}, (f) => frames.push(f));
  const stream = Buffer.concat([Buffer.from('YUV4MPEG2 W2 H2 F30:1 C420jpeg\nFRAME\n'), Buffer.from([1, 2, 3, 4, 5, 6]),
    Buffer.from('FRAME\n'), Buffer.from([7, 8, 9, 10, 11, 12])]);
  // Simulate reads of at most 4 bytes into whatever the reader offers.
  let offset = 0;
  let directBytes = 0;
  while (offset < stream.length) {
    const target = reader.readTarget();
    const n = Math.min(4, target.length, stream.length - offset);
    target.set(stream.subarray(offset, offset + n));
    if (frames.length < 2 && target.byteOffset + target.length === 6 && target.buffer.byteLength === 6) directBytes += n;
    reader.wrote(n, target);
    offset += n;
  }
  assert.deepEqual(frames.map((f) => [...f]), [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]);
  assert.ok(directBytes > 0, 'some frame bytes were read straight into the frame');
  assert.throws(() => reader.wrote(1, new Uint8Array(1)), /not the current read target/);
});
