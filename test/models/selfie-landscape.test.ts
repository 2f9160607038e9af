// The landscape selfie model converts, runs, and agrees with the square model on a person frame.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { buildModelBytes } from '../../models/build-model.ts';
import { MODEL_REGISTRY } from '../../models/registry.ts';
import { createCpuSession } from '../../models/runtime/ort-session.ts';
import { readRgbImage } from '../../models/segmentation/read-image.ts';
import { segmentImage } from '../../models/segmentation/segment-image.ts';
import { extractFrame, mediaSkipReason } from './helpers/shared-media.ts';

describe('selfie-landscape model', () => {
  let landscape: ort.InferenceSession;
  let square: ort.InferenceSession;
  let dir = '';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'landscape-'));
    landscape = await createCpuSession((await buildModelBytes('selfie-landscape')).onnx);
    square = await createCpuSession((await buildModelBytes('selfie')).onnx);
  });

  after(async () => {
    await landscape?.release();
    await square?.release();
    await rm(dir, { recursive: true, force: true });
  });

  test('has input [1, 144, 256, 3] and output mask [1, 144, 256, 1] in 0..1', async () => {
    assert.deepEqual(landscape.inputNames, ['input']);
    assert.deepEqual(landscape.outputNames, ['mask']);
    const input = new Float32Array(144 * 256 * 3).fill(0.5);
    const out = (await landscape.run({ input: new ort.Tensor('float32', input, [1, 144, 256, 3]) })).mask!;
    assert.deepEqual(out.dims, [1, 144, 256, 1]);
    assert.ok((out.data as Float32Array).every((v) => v >= 0 && v <= 1));
  });

  for (const frame of [
    { file: 'sister.mkv', atSec: 0.5 },
    { file: 'again.mkv', atSec: 1.2 },
  ]) {
    test(`${frame.file} at ${frame.atSec}s: finds the person where the square model does`, { skip: mediaSkipReason }, async (t) => {
      const image = await readRgbImage(await extractFrame(frame.file, frame.atSec, path.join(dir, `${frame.file}.png`)));
      const a = await segmentImage(landscape, MODEL_REGISTRY['selfie-landscape'], image);
      const b = await segmentImage(square, MODEL_REGISTRY.selfie, image);
      let inter = 0;
      let union = 0;
      let areaA = 0;
      for (let i = 0; i < a.length; i++) {
        const pa = a[i]! > 0.5;
        const pb = b[i]! > 0.5;
        if (pa) areaA++;
        if (pa && pb) inter++;
        if (pa || pb) union++;
      }
      const iou = inter / union;
      t.diagnostic(`person area ${(areaA / a.length).toFixed(3)}, IoU with the square model ${iou.toFixed(3)}`);
      assert.ok(areaA / a.length > 0.1 && areaA / a.length < 0.6, `person area ${areaA / a.length}`);
      assert.ok(iou > 0.85, `IoU ${iou}`);
    });
  }
});
