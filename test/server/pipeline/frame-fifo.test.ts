// A real ffmpeg writes y4m frames into a FIFO; they are read straight into the reader's buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openFrameFifo } from '../../../server/pipeline/frame-fifo.ts';
import { i420FrameSize, Y4mReader } from '../../../server/pipeline/frame-reader.ts';

test('ffmpeg -> FIFO -> Y4mReader: every frame arrives whole, then the end', async () => {
  const fifo = openFrameFifo();
  const child = spawn('ffmpeg', ['-v', 'error', '-nostdin', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=30', '-frames:v', '45',
    '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', 'pipe:1'], { stdio: ['ignore', fifo.writeFd, 'pipe'] });
  const frames: Uint8Array[] = [];
  const reader = new Y4mReader(() => {}, (f) => frames.push(f));
  const reads: number[] = [];
  const ended = new Promise<Error | undefined>((resolve) => fifo.read(() => reader.readTarget(), (n, buffer) => { reads.push(n); reader.wrote(n, buffer); }, resolve));
  const [error, code] = await Promise.all([ended, new Promise((resolve) => child.on('exit', resolve))]);
  fifo.close();
  fifo.close(); // idempotent
  assert.equal(code, 0);
  assert.equal(error, undefined);
  assert.equal(frames.length, 45);
  assert.ok(frames.every((f) => f.byteLength === i420FrameSize(320, 180)));
  assert.notDeepEqual([...frames[0]!.subarray(0, 64)], [...frames[0]!.subarray(0, 64)].fill(0), 'frames hold picture bytes');
});

test('a FIFO closed before reading closes both ends', () => {
  const fifo = openFrameFifo();
  fifo.close();
  fifo.close();
});
