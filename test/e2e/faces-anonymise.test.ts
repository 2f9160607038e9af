/**
 * Issue #18, done-when: live face anonymisation through the real server, judged by the original
 * MediaPipe face detector (the @mediapipe/face_detection JS solution in Chromium). The clip is
 * face-demographics-walking-and-pause.gif (three adults in a corridor, faces to camera, 480x270,
 * 12 fps; faces ~30-70 px, beyond the short-range model's reach, so both the plugin and the oracle
 * run BlazeFace full range), converted to H.264 and published in a loop: the oracle finds faces in the input's
 * frames and none in frames sampled from the RTMP output, with `?faces=pixelate` (after the
 * default background replacement: two plugins in one chain), with `?faces=blur`, and while the
 * pool's worker threads are killed mid-stream (fail closed: no frame leaves with a face in the clear).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { grabFramesRgb, mediaFile, mediaSkip, startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { streamEntry } from '../helpers/fault-tools.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { freePort } from '../helpers/free-port.ts';
import { MediaPipeFaceOracle, type OracleFace } from '../helpers/mediapipe-face-oracle.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { inspectorEnv, killWorkerThreads } from '../helpers/worker-killer.ts';

const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts/faces-e2e');
const WIDTH = 480;
const HEIGHT = 270;
const FPS = 12;
let work: string;
let clip: string;
let server: ServerProcess;
let oracle: MediaPipeFaceOracle;
let inspectPort: number;
let inputFaces: OracleFace[][] = [];
const publishers: Publisher[] = [];

before(async () => {
  if (mediaSkip) return;
  work = mkdtempSync(join(tmpdir(), 'faces-e2e-'));
  clip = join(work, 'faces.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-i', mediaFile('face-demographics-walking-and-pause.gif'),
    '-vf', `fps=${FPS},format=yuv420p`, '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(FPS), clip]);
  inspectPort = await freePort();
  [server, oracle] = await Promise.all([startServerOnFreePorts([], inspectorEnv(inspectPort)), MediaPipeFaceOracle.launch()]);
  const frames = await grabFramesRgb(clip, WIDTH, HEIGHT, { count: 41 });
  inputFaces = await oracle.detect(frames.map((rgb) => ({ width: WIDTH, height: HEIGHT, rgb })), { model: 'full' });
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
  await oracle?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function publishClip(key: string, query: string): Publisher {
  const p = publish(`${server.rtmpBase}/${key}?${query}`, ['-stream_loop', '-1', '-i', clip], ['-c', 'copy']);
  publishers.push(p);
  return p;
}

/** waitFaces waits until the stream is live and its faces plugin reports faces in view. */
async function waitFaces(key: string): Promise<void> {
  await waitFor('the stream to report faces in view', async () => {
    const s = await streamEntry(server.httpBase, key);
    return s?.state === 'live' && Number((s.stats.gauges as Record<string, number> | undefined)?.['faces.faces'] ?? 0) >= 1;
  }, 60000, 250);
}

async function outputFaces(key: string, count: number, every: number): Promise<OracleFace[][]> {
  const frames = await grabFramesRgb(`${server.rtmpBase}/stream-${key}`, WIDTH, HEIGHT, { count, every, timeoutMs: 60000 });
  for (const rgb of frames) {
    let sum = 0;
    for (let i = 0; i < rgb.length; i += 3) sum += rgb[i + 1]!;
    assert.ok(sum / (rgb.length / 3) > 20, 'an output frame is not blank: the test would prove nothing');
  }
  const found = await oracle.detect(frames.map((rgb) => ({ width: WIDTH, height: HEIGHT, rgb })), { model: 'full' });
  // A frame with a face is kept for whoever reads the failure: test-artifacts/faces-e2e/.
  await Promise.all(found.map(async (faces, i) => {
    if (faces.length === 0) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    const name = join(ARTIFACTS, `${key}-${i}.png`);
    await sharp(Buffer.from(frames[i]!), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).png().toFile(name);
    console.error(`faces-e2e: ${name}: ${faces.map((f) => `${f.width.toFixed(0)}x${f.height.toFixed(0)}+${f.x.toFixed(0)}+${f.y.toFixed(0)} score ${f.score.toFixed(2)}`).join(', ')}`);
  }));
  return found;
}

function describeFaces(perFrame: OracleFace[][]): string {
  return perFrame.map((f) => f.length).join(' ');
}

test('the oracle finds faces in every frame of the input clip', { skip: mediaSkip, timeout: 120000 }, (t) => {
  t.diagnostic(`input faces per frame (${inputFaces.length} frames): ${describeFaces(inputFaces)}`);
  assert.equal(inputFaces.length, 41);
  assert.ok(inputFaces.every((f) => f.length >= 1), 'every input frame shows at least one face, so every output frame stands for one');
});

test('?faces=pixelate (after the background replacement): no face in the output', { skip: mediaSkip, timeout: 180000 }, async (t) => {
  const key = uniqueKey('pixelate');
  const publisher = publishClip(key, 'faces=pixelate&faceModel=full');
  // each stream ends with its test: the next one runs alone, without load shedding from this one
  t.after(() => publisher.stop());
  await waitFaces(key);
  const found = await outputFaces(key, 24, 3);
  t.diagnostic(`output faces per frame: ${describeFaces(found)}`);
  const listed = await streamEntry(server.httpBase, key) as unknown as { plugins: Record<string, Record<string, unknown>> };
  assert.deepEqual(Object.keys(listed.plugins), ['background', 'faces'], 'two plugins in one chain');
  assert.equal(listed.plugins.faces!.mode, 'pixelate');
  assert.deepEqual(found.map((f) => f.length), found.map(() => 0), 'the original detector finds no face in any sampled output frame');
});

test('?faces=blur: no face in the output', { skip: mediaSkip, timeout: 180000 }, async (t) => {
  const key = uniqueKey('blur');
  const publisher = publishClip(key, 'background=off&faces=blur&faceModel=full');
  // each stream ends with its test: the next one runs alone, without load shedding from this one
  t.after(() => publisher.stop());
  await waitFaces(key);
  const found = await outputFaces(key, 24, 3);
  t.diagnostic(`output faces per frame: ${describeFaces(found)}`);
  assert.deepEqual(found.map((f) => f.length), found.map(() => 0), 'the original detector finds no face in any sampled output frame');
});

test('the pool\'s worker threads killed mid-stream: no output frame shows a face in the clear', { skip: mediaSkip, timeout: 180000 }, async (t) => {
  const key = uniqueKey('kill');
  const publisher = publishClip(key, 'background=off&faces=pixelate&faceModel=full');
  // each stream ends with its test: the next one runs alone, without load shedding from this one
  t.after(() => publisher.stop());
  await waitFaces(key);
  const before = await streamEntry(server.httpBase, key);
  const from = server.logs.length;
  // Sample ~8 s of output; kill the workers about 2 s in, while frames are in the pool.
  const sampling = outputFaces(key, 48, 2);
  await waitFor('2 s more of output', async () => Number((await streamEntry(server.httpBase, key))!.stats.framesOut) >= Number(before!.stats.framesOut) + 2 * FPS, 30000, 100);
  const killed = await killWorkerThreads(inspectPort);
  const found = await sampling;
  t.diagnostic(`killed ${killed} worker threads; output faces per frame: ${describeFaces(found)}`);
  assert.ok(killed >= 1);
  const failed = server.logs.slice(from).filter((l) => l.msg === 'frame processing failed; the last frame repeats');
  assert.ok(failed.length >= 1, 'frames in the pool were lost with their workers');
  assert.deepEqual(found.map((f) => f.length), found.map(() => 0), 'no sampled output frame shows a face');
  const after = await waitFor('the stream to go on with new workers', async () => {
    const s = await streamEntry(server.httpBase, key);
    return s && Number(s.stats.framesOut) > Number(before!.stats.framesOut) + 60 && s;
  }, 30000, 250);
  assert.equal(after.state, 'live');
});
