// Self-test of the MediaPipe face oracle (test/helpers/mediapipe-face-oracle.ts): before it judges
// our detector, it must find the faces in real footage, find none where there is none, lose a face
// that is painted over, switch models at once, keep no state between frames, and load nothing from
// outside the loopback server. Frames come from ../shared/media as raw RGB24 and as PNG.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { grabFramesRgb } from '../helpers/e2e-media.ts';
import { GRAPH_MIN_SCORE, MediaPipeFaceOracle, type FaceModel, type OracleFace, type RawRgbFrame } from '../helpers/mediapipe-face-oracle.ts';
import { boxIou, matchFaces, type FaceBox } from './face-metrics.ts';
import { faceMedia, faceMediaSkip } from './face-media.ts';

const run = promisify(execFile);

const WALKING = faceMedia('face-demographics-walking-and-pause.gif');
const HEAD_POSE = faceMedia('head-pose-face-detection-female.gif');
const CARS = faceMedia('car-detection.mp4');
const noMedia = faceMediaSkip('face-demographics-walking-and-pause.gif', 'head-pose-face-detection-female.gif', 'car-detection.mp4');

/** Painted boxes grow by this factor around the face box, so no cheek or forehead is left to detect. */
const PAINT_GROWTH = 1.4;

/** rawFrames wraps decoded RGB24 buffers of one size as oracle frames. */
const rawFrames = (buffers: Buffer[], width: number, height: number): RawRgbFrame[] => buffers.map((rgb) => ({ width, height, rgb }));

/** counts formats per-frame face counts as one digit string (e.g. "2333"). */
const counts = (perFrame: OracleFace[][]): string => perFrame.map((f) => f.length).join('');

/** paintBlack returns a copy of a frame with `box` (grown by `growth` about its centre) set to black. */
function paintBlack(frame: RawRgbFrame, box: FaceBox, growth: number): RawRgbFrame {
  const rgb = Buffer.from(frame.rgb);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const x0 = Math.max(0, Math.floor(cx - (box.width * growth) / 2));
  const x1 = Math.min(frame.width, Math.ceil(cx + (box.width * growth) / 2));
  const y0 = Math.max(0, Math.floor(cy - (box.height * growth) / 2));
  const y1 = Math.min(frame.height, Math.ceil(cy + (box.height * growth) / 2));
  for (let y = y0; y < y1; y++) rgb.fill(0, (y * frame.width + x0) * 3, (y * frame.width + x1) * 3);
  return { ...frame, rgb };
}

/** assertPlausible checks one detection's geometry: inside the frame, square-ish, eyes and nose inside the box, score in range. */
function assertPlausible(face: OracleFace, width: number, height: number, model: FaceModel, label: string): void {
  const slack = face.width * 0.25;
  assert.ok(face.x > -slack && face.y > -slack && face.x + face.width < width + slack && face.y + face.height < height + slack, `${label}: box ${JSON.stringify(face)} outside the ${width}x${height} frame`);
  assert.ok(face.width > 10 && face.height > 10, `${label}: box too small (${face.width}x${face.height})`);
  assert.ok(face.score >= GRAPH_MIN_SCORE[model] && face.score <= 1, `${label}: score ${face.score}`);
  assert.equal(face.keypoints.length, 6, `${label}: MediaPipe gives 6 keypoints`);
  for (const [k, [x, y]] of face.keypoints.slice(0, 3).entries()) {
    assert.ok(x >= face.x && x <= face.x + face.width && y >= face.y && y <= face.y + face.height, `${label}: keypoint ${k} (${x}, ${y}) outside its box`);
  }
}

describe('MediaPipe face oracle finds faces in real footage and only there', { skip: noMedia, timeout: 600_000 }, () => {
  let oracle: MediaPipeFaceOracle | undefined;
  let workDir: string | undefined;
  let walking: RawRgbFrame[] = [];
  let headPose: RawRgbFrame[] = [];
  let cars: RawRgbFrame[] = [];
  let headPosePng = '';

  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'face-oracle-'));
    const launching = MediaPipeFaceOracle.launch();
    try {
      headPosePng = path.join(workDir, 'head-pose-0.5s.png');
      const [w, h, c] = await Promise.all([
        // every 4th of the 41 GIF frames: the walk and the pause; every 2nd of the 23 head-pose frames
        grabFramesRgb(WALKING, 480, 270, { count: 10, every: 4, skipFrames: 2 }),
        grabFramesRgb(HEAD_POSE, 480, 270, { count: 11, every: 2 }),
        grabFramesRgb(CARS, 768, 432, { count: 3, every: 100 }),
        run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', HEAD_POSE, '-ss', '0.5', '-frames:v', '1', '-pix_fmt', 'rgb24', headPosePng], { timeout: 60_000 }),
      ]);
      walking = rawFrames(w, 480, 270);
      headPose = rawFrames(h, 480, 270);
      cars = rawFrames(c, 768, 432);
    } finally {
      oracle = await launching;
    }
  });

  after(async () => {
    await oracle?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test('three adults walking: full model finds 2 or 3 faces in every frame', async (t) => {
    const started = Date.now();
    const result = await oracle!.detect(walking, { model: 'full' });
    t.diagnostic(`faces per frame (full): ${counts(result)}; ${((Date.now() - started) / walking.length).toFixed(0)} ms/frame`);
    t.diagnostic(`face widths px: ${result.flat().map((f) => f.width.toFixed(0)).join(' ')}`);
    assert.equal(result.length, walking.length);
    for (const [i, faces] of result.entries()) {
      assert.ok(faces.length >= 2 && faces.length <= 3, `frame ${i}: ${faces.length} faces, expected 2..3`);
      for (const face of faces) assertPlausible(face, 480, 270, 'full', `walking frame ${i}`);
    }
    assert.ok(result.filter((f) => f.length === 3).length >= walking.length - 2, `three faces in too few frames: ${counts(result)}`);
  });

  test('head-pose close-up: both models find exactly one face in every frame', async (t) => {
    for (const model of ['short', 'full'] as const) {
      const started = Date.now();
      const result = await oracle!.detect(headPose, { model });
      t.diagnostic(`faces per frame (${model}): ${counts(result)}; ${((Date.now() - started) / headPose.length).toFixed(0)} ms/frame; scores ${result.flat().map((f) => f.score.toFixed(2)).join(' ')}`);
      for (const [i, faces] of result.entries()) {
        assert.equal(faces.length, 1, `${model} frame ${i}: ${faces.length} faces`);
        assertPlausible(faces[0], 480, 270, model, `head-pose ${model} frame ${i}`);
        assert.ok(faces[0].width > 55 && faces[0].width < 95, `${model} frame ${i}: face ${faces[0].width.toFixed(1)} px wide, expected about 70`);
      }
    }
  });

  test('parking lot: no face with either model', async (t) => {
    for (const model of ['short', 'full'] as const) {
      const result = await oracle!.detect(cars, { model });
      t.diagnostic(`faces per frame (${model}): ${counts(result)}`);
      assert.deepEqual(result.map((f) => f.length), cars.map(() => 0), `${model}: faces found in car-detection.mp4: ${JSON.stringify(result)}`);
    }
  });

  test('a face painted black is lost, the others stay', async (t) => {
    const frame = walking[5];
    const [clean] = await oracle!.detect([frame], { model: 'full' });
    assert.equal(clean.length, 3, `clean frame: ${clean.length} faces`);
    const painted = clean.map((face) => paintBlack(frame, face, PAINT_GROWTH));
    const result = await oracle!.detect(painted, { model: 'full' });
    t.diagnostic(`faces after painting face 0, 1, 2 in turn: ${counts(result)}`);
    for (const [i, faces] of result.entries()) {
      assert.ok(faces.every((f) => boxIou(f, clean[i]) === 0), `painted face ${i} still detected: ${JSON.stringify(faces)}`);
      const others = clean.filter((_, j) => j !== i);
      const { matches } = matchFaces(others, faces, 0.5);
      assert.equal(matches.length, others.length, `painting face ${i} lost another face: ${JSON.stringify(faces)}`);
    }
    const allPainted = clean.reduce((f, face) => paintBlack(f, face, PAINT_GROWTH), frame);
    assert.deepEqual(await oracle!.detect([allPainted], { model: 'full' }), [[]], 'faces found with all three painted black');
  });

  test('model switches take effect at once and frames leave no state behind', async () => {
    const frame = walking[3];
    const full = await oracle!.detect([frame], { model: 'full' });
    const short = await oracle!.detect([frame], { model: 'short' });
    // the short-range model sees these ~50 px faces at ~13 px after the 128 px letterbox: none
    assert.equal(full[0].length, 3, 'full model on walking frame 3');
    assert.equal(short[0].length, 0, 'short model on walking frame 3 (if 3, the full graph is still running)');
    assert.deepEqual(await oracle!.detect([headPose[0], frame], { model: 'full' }), [(await oracle!.detect([headPose[0]], { model: 'full' }))[0], full[0]]);
    assert.deepEqual(await oracle!.detect([frame], { model: 'full' }), full, 'same frame, different detections');
  });

  test('CPU (float32, default) and GPU (WebGL float16) inference agree', async (t) => {
    for (const model of ['short', 'full'] as const) {
      const frames = [walking[5], walking[9], headPose[0], headPose[6]];
      const cpu = await oracle!.detect(frames, { model, inference: 'cpu' });
      const gpu = await oracle!.detect(frames, { model, inference: 'gpu' });
      let minIou = 1;
      let maxScoreDiff = 0;
      for (const [i, faces] of cpu.entries()) {
        assert.equal(gpu[i].length, faces.length, `${model} frame ${i}: ${faces.length} faces on the CPU, ${gpu[i].length} on the GPU`);
        const { matches } = matchFaces(faces, gpu[i]);
        assert.equal(matches.length, faces.length);
        for (const { a, b, iou } of matches) {
          minIou = Math.min(minIou, iou);
          maxScoreDiff = Math.max(maxScoreDiff, Math.abs(faces[a].score - gpu[i][b].score));
        }
      }
      t.diagnostic(`${model}: ${cpu.flat().length} faces, CPU vs GPU min IoU ${minIou.toFixed(4)}, max |dscore| ${maxScoreDiff.toFixed(4)}`);
      assert.ok(minIou >= 0.98 && maxScoreDiff <= 0.005, `${model}: CPU and GPU disagree (IoU ${minIou}, score ${maxScoreDiff})`);
    }
  });

  test('a PNG file and the raw RGB of one frame give the same detections', async () => {
    const { data, info } = await (await import('sharp')).default(headPosePng).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 3);
    const [fromFile, fromRaw] = await oracle!.detect([headPosePng, { width: info.width, height: info.height, rgb: data }], { model: 'short' });
    assert.equal(fromFile.length, 1);
    assert.deepEqual(fromRaw, fromFile);
  });

  test('minScore filters above the graph threshold and is refused below it', async () => {
    const [all] = await oracle!.detect([walking[5]], { model: 'full' });
    const cut = (all.map((f) => f.score).sort()[1] + all.map((f) => f.score).sort()[2]) / 2;
    const [high] = await oracle!.detect([walking[5]], { model: 'full', minScore: cut });
    assert.deepEqual(high, all.filter((f) => f.score >= cut));
    assert.equal(high.length, 1);
    await assert.rejects(oracle!.detect([walking[5]], { model: 'full', minScore: 0.5 }), /below the full graph's built-in 0.6/);
    await assert.rejects(oracle!.detect([{ width: 10, height: 10, rgb: new Uint8Array(10) }]), /expected 10x10x3/);
  });

  test('the page loaded nothing from outside and reported no error', () => {
    assert.deepEqual(oracle!.blockedRequests, []);
    assert.deepEqual(oracle!.pageErrors, []);
  });
});
