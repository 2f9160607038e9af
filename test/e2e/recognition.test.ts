/**
 * Issue #21, done-when: "blur everyone but us" through the real server. One person is enrolled
 * over the API from one JPEG (sister.mkv's young man at 1 s); a real ffmpeg publishes a clip in
 * which he and a stranger appear side by side (sister.mkv | again.mkv, 1280x480, looped, from
 * 0.5 s so the enrolled frame itself is not in the first second) with
 * `?background=off&faces=pixelate&anonymise=unknown`. Judged by the original MediaPipe face
 * detector (the @mediapipe/face_detection JS solution in Chromium) on frames read back from the
 * RTMP output: it finds the enrolled face on some of them and the stranger's on none, while on
 * the input it finds both on every frame. The stored events name the enrolled person (label and
 * similarity) and give the stranger no name (label null: unknown); `?label=` finds his appearances.
 * Then the person is deleted while his face is live: from then on no output frame shows a face.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, type RunningServer } from '../../server/app.ts';
import { resolveConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { grabFramesRgb, mediaFile, mediaSkip, uniqueKey } from '../helpers/e2e-media.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { MediaPipeFaceOracle, type OracleFace } from '../helpers/mediapipe-face-oracle.ts';
import { waitFor } from '../helpers/server-process.ts';

const ADMIN = 'recognition-admin-token';
const AUTH = { authorization: `Bearer ${ADMIN}` };
const WIDTH = 1280;
const HEIGHT = 480;
const HALF = 640;
let dir: string;
let clip: string;
let server: RunningServer;
let base: string;
let rtmp: string;
let oracle: MediaPipeFaceOracle;
let personId: string;
const publishers: Publisher[] = [];

interface ApiEvent { id: string; kind: string; label: string | null; labelScore?: number; trackId: number; endMs: number | null; box: { x: number; width: number } }

before(async () => {
  if (mediaSkip) return;
  dir = mkdtempSync(join(tmpdir(), 'recognition-e2e-'));
  const reference = join(dir, 'sister-1s.jpg');
  execFileSync('ffmpeg', ['-v', 'error', '-ss', '1', '-i', mediaFile('sister.mkv'), '-frames:v', '1', reference]);
  clip = join(dir, 'two.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-stream_loop', '-1', '-ss', '0.5', '-i', mediaFile('sister.mkv'), '-stream_loop', '-1', '-ss', '0.5', '-i', mediaFile('again.mkv'),
    '-filter_complex', '[0:v]fps=30,scale=640:480,setsar=1[a];[1:v]fps=30,scale=640:480,setsar=1[b];[a][b]hstack,format=yuv420p', '-t', '8',
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', clip]);
  const config = resolveConfig({
    cli: {
      bind: '127.0.0.1', rtmp: { port: 0 }, http: { port: 0 }, mediaRoot: join(dir, 'media'), dataDir: join(dir, 'data'),
      auth: { adminToken: ADMIN }, events: { trackLostMs: 1000, flushIntervalMs: 50 },
    },
  });
  [server, oracle] = await Promise.all([start(config, createLogger('warn')), MediaPipeFaceOracle.launch()]);
  base = `http://127.0.0.1:${server.httpPort}`;
  rtmp = `rtmp://127.0.0.1:${server.rtmpPort}/live`;
  const created = await fetch(`${base}/api/people`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Sam' }) });
  assert.equal(created.status, 201);
  personId = ((await created.json()) as { id: string }).id;
  const face = await fetch(`${base}/api/people/${personId}/faces`, { method: 'POST', headers: { ...AUTH, 'content-type': 'image/jpeg' }, body: readFileSync(reference) });
  assert.equal(face.status, 201, await face.text());
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.close();
  await oracle?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sides = (faces: OracleFace[]) => ({
  left: faces.filter((f) => f.x + f.width / 2 < HALF).length,
  right: faces.filter((f) => f.x + f.width / 2 >= HALF).length,
});

async function events(query: string): Promise<ApiEvent[]> {
  const res = await fetch(`${base}/api/events?${query}`, { headers: AUTH });
  assert.equal(res.status, 200);
  return ((await res.json()) as { events: ApiEvent[] }).events;
}

test('the oracle finds both faces on every input frame', { skip: mediaSkip, timeout: 120000 }, async (t) => {
  const frames = await grabFramesRgb(clip, WIDTH, HEIGHT, { count: 10, every: 20 });
  const found = (await oracle.detect(frames.map((rgb) => ({ width: WIDTH, height: HEIGHT, rgb })), { model: 'full' })).map(sides);
  t.diagnostic(`input faces (left, right) per frame: ${found.map((s) => `${s.left},${s.right}`).join(' ')}`);
  assert.ok(found.every((s) => s.left === 1 && s.right === 1), 'both faces are findable in the clear, so the output test can fail');
});

test('anonymise=unknown: the enrolled face is shown and named, the stranger never shown; deleting him hides him', { skip: mediaSkip, timeout: 240000 }, async (t) => {
  const key = uniqueKey('recognise');
  const publisher = publish(`${rtmp}/${key}?background=off&faces=pixelate&anonymise=unknown`, ['-stream_loop', '-1', '-i', clip], ['-c', 'copy']);
  publishers.push(publisher);
  t.after(() => publisher.stop());
  await waitFor('an event labelled Sam', async () => (await events(`stream=${key}&label=Sam`)).length > 0, 60000, 250);
  const frames = await grabFramesRgb(`${rtmp}/stream-${key}`, WIDTH, HEIGHT, { count: 30, every: 3, timeoutMs: 60000 });
  const found = (await oracle.detect(frames.map((rgb) => ({ width: WIDTH, height: HEIGHT, rgb })), { model: 'full' })).map(sides);
  t.diagnostic(`output faces (left, right) per frame: ${found.map((s) => `${s.left},${s.right}`).join(' ')}`);
  assert.deepEqual(found.map((s) => s.right), found.map(() => 0), 'the stranger is never found in the output');
  const shown = found.filter((s) => s.left === 1).length;
  assert.ok(shown >= found.length / 2, `the enrolled face is found in the output (${shown} of ${found.length} frames)`);

  const faces = await events(`stream=${key}&kind=face`);
  t.diagnostic(`face events: ${faces.map((e) => `${e.label}@${Math.round(e.box.x)} ${e.labelScore ?? ''}`).join(', ')}`);
  const sam = faces.filter((e) => e.label === 'Sam');
  assert.ok(sam.length >= 1 && sam.every((e) => e.box.x < HALF), 'the enrolled person\'s event, on his side');
  assert.ok(sam.every((e) => e.labelScore! >= 0.96 && e.labelScore! <= 1), 'with the similarity behind the name');
  const strangers = faces.filter((e) => e.box.x >= HALF);
  assert.ok(strangers.length >= 1 && strangers.every((e) => e.label === null && e.labelScore === null), 'the stranger\'s events carry no name (unknown)');

  // Deleting the person while his face is live: the frames processed after it show nobody. A new
  // RTMP reader first gets the output's cached GOP (up to one keyframe interval, 2 s by default,
  // of frames that left before the deletion), so the first 3 s it reads are skipped.
  const deleted = await fetch(`${base}/api/people/${personId}`, { method: 'DELETE', headers: AUTH });
  assert.equal(deleted.status, 200);
  assert.equal((await events('label=Sam')).length, 0, 'his name is gone from the stored events');
  const afterDelete = await grabFramesRgb(`${rtmp}/stream-${key}`, WIDTH, HEIGHT, { count: 15, every: 3, skipFrames: 90, timeoutMs: 60000 });
  const hidden = (await oracle.detect(afterDelete.map((rgb) => ({ width: WIDTH, height: HEIGHT, rgb })), { model: 'full' })).map(sides);
  t.diagnostic(`after the deletion (left, right): ${hidden.map((s) => `${s.left},${s.right}`).join(' ')}`);
  assert.deepEqual(hidden, hidden.map(() => ({ left: 0, right: 0 })), 'no face is shown once the person is deleted');
});
