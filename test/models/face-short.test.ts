// The converted face-short model and the decoder must find the face in a real close-up frame.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { buildModelBytes } from '../../models/build-model.ts';
import { decodeFaceDetections } from '../../models/face/decode.ts';
import { detectionToImagePx, letterboxToTensor } from '../../models/face/letterbox-input.ts';
import { MODEL_REGISTRY } from '../../models/registry.ts';
import { createCpuSession } from '../../models/runtime/ort-session.ts';
import { readRgbImage } from '../../models/segmentation/read-image.ts';
import { extractFrame, mediaSkipReason } from './helpers/shared-media.ts';

const entry = MODEL_REGISTRY['face-short'];

describe('face-short model', () => {
  let session: ort.InferenceSession;
  let dir = '';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'face-short-'));
    session = await createCpuSession((await buildModelBytes('face-short')).onnx);
  });

  after(async () => {
    await session?.release();
    await rm(dir, { recursive: true, force: true });
  });

  test('has the documented inputs and outputs', () => {
    assert.deepEqual(session.inputNames, ['input']);
    assert.deepEqual(session.outputNames, ['regressors', 'classificators']);
    assert.deepEqual(entry.outputs.map((o) => o.name), ['regressors', 'classificators']);
  });

  test('finds no face in a flat grey image', async () => {
    const input = new Float32Array(128 * 128 * 3);
    const out = await session.run({ input: new ort.Tensor('float32', input, entry.input.shape) });
    assert.deepEqual(out.regressors!.dims, [1, 896, 16]);
    assert.deepEqual(out.classificators!.dims, [1, 896, 1]);
    const faces = decodeFaceDetections(out.regressors!.data as Float32Array, out.classificators!.data as Float32Array);
    assert.equal(faces.length, 0);
  });

  for (const atSec of [0.5, 1.5]) {
    test(`finds the face in head-pose-face-detection-female.gif at ${atSec}s`, { skip: mediaSkipReason }, async (t) => {
      const image = await readRgbImage(await extractFrame('head-pose-face-detection-female.gif', atSec, path.join(dir, `head-pose-${atSec}.png`)));
      const { tensor, letterbox } = letterboxToTensor(image, 128, entry.input.range);
      const out = await session.run({ input: new ort.Tensor('float32', tensor, entry.input.shape) });
      const faces = decodeFaceDetections(out.regressors!.data as Float32Array, out.classificators!.data as Float32Array).map((f) => detectionToImagePx(f, letterbox));
      assert.ok(faces.length >= 1, 'no face found');
      const best = faces[0]!;
      const cx = best.xMin + best.width / 2;
      const cy = best.yMin + best.height / 2;
      t.diagnostic(`${image.width}x${image.height}: ${faces.length} face(s); best score ${best.score.toFixed(3)}, box centre (${cx.toFixed(0)}, ${cy.toFixed(0)}) px, size ${best.width.toFixed(0)}x${best.height.toFixed(0)} px`);
      assert.ok(best.score > 0.5, `score ${best.score}`);
      // One woman, head and shoulders: the face is in the upper middle of the frame.
      assert.ok(cx > image.width * 0.25 && cx < image.width * 0.75, `box centre x ${cx} not in the middle half`);
      assert.ok(cy > image.height * 0.05 && cy < image.height * 0.6, `box centre y ${cy} not in the upper part`);
      assert.ok(best.width > image.width * 0.05 && best.width < image.width * 0.6, `box width ${best.width}`);
      const [rightEye, leftEye] = best.keypoints;
      assert.ok(rightEye!.y > best.yMin && rightEye!.y < best.yMin + best.height && leftEye!.x > best.xMin && leftEye!.x < best.xMin + best.width, 'eyes inside the box');
    });
  }
});
