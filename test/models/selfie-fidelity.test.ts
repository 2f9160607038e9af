// The converted selfie model must match the oracle ONNX (../shared/reference) on real frames.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { buildModelBytes } from '../../models/build-model.ts';
import { MODEL_REGISTRY } from '../../models/registry.ts';
import { createCpuSession } from '../../models/runtime/ort-session.ts';
import { stretchToTensor } from '../../models/segmentation/preprocess.ts';
import { readRgbImage } from '../../models/segmentation/read-image.ts';
import { extractFrame, oracleModelPath, oracleSkipReason } from './helpers/shared-media.ts';

const MAX_ABS_DIFF = 1e-3;
const FRAMES = [
  { id: 'sister-0.5s', file: 'sister.mkv', atSec: 0.5, person: true },
  { id: 'again-1.2s', file: 'again.mkv', atSec: 1.2, person: true },
  { id: 'one-by-one-55s', file: 'one-by-one-person-detection.mp4', atSec: 55, person: true },
  { id: 'car-10s', file: 'car-detection.mp4', atSec: 10, person: false },
  { id: 'head-pose-0.5s', file: 'head-pose-face-detection-female.gif', atSec: 0.5, person: true },
];

describe('converted selfie model vs oracle ONNX', { skip: oracleSkipReason }, () => {
  let dir = '';
  let ours: ort.InferenceSession;
  let oracle: ort.InferenceSession;
  const entry = MODEL_REGISTRY.selfie;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'selfie-fidelity-'));
    ours = await createCpuSession((await buildModelBytes('selfie')).onnx);
    oracle = await createCpuSession(oracleModelPath);
  });

  after(async () => {
    await ours?.release();
    await oracle?.release();
    await rm(dir, { recursive: true, force: true });
  });

  for (const frame of FRAMES) {
    test(`${frame.id}: max |ours - oracle| <= ${MAX_ABS_DIFF}`, async (t) => {
      const image = await readRgbImage(await extractFrame(frame.file, frame.atSec, path.join(dir, `${frame.id}.png`)));
      const input = stretchToTensor(image, { width: 256, height: 256, range: [0, 1] });
      const a = (await ours.run({ [entry.input.name]: new ort.Tensor('float32', input, [1, 256, 256, 3]) }))[entry.outputs[0]!.name]!;
      const b = (await oracle.run({ 'input_1:0': new ort.Tensor('float32', input, [1, 256, 256, 3]) })).activation_10!;
      assert.deepEqual(a.dims, [1, 256, 256, 1]);
      const da = a.data as Float32Array;
      const db = b.data as Float32Array;
      let maxDiff = 0;
      let area = 0;
      for (let i = 0; i < da.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(da[i]! - db[i]!));
        if (da[i]! > 0.5) area++;
      }
      area /= da.length;
      t.diagnostic(`${frame.id}: max abs diff ${maxDiff.toExponential(2)}, person area ${area.toFixed(3)}`);
      assert.ok(maxDiff <= MAX_ABS_DIFF, `${frame.id}: max abs diff ${maxDiff} > ${MAX_ABS_DIFF}`);
      // A frame that can not fail on a constant output: people must be found, the car park must stay empty.
      if (frame.person) assert.ok(area > 0.02, `${frame.id}: person area ${area}`);
      else assert.ok(area < 0.01, `${frame.id}: person area ${area} on a frame without people`);
    });
  }
});
