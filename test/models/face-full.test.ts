// The converted face-full model (BlazeFace full range sparse) and the decoder find faces on real
// frames, and agree with face-short on a close face.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { buildModelBytes } from '../../models/build-model.ts';
import { boxIou, decodeFaceDetections, type FaceDetection } from '../../models/face/decode.ts';
import { FACE_MODELS, type FaceModelName } from '../../models/face/face-models.ts';
import { detectionToImagePx, letterboxToTensor } from '../../models/face/letterbox-input.ts';
import { MODEL_REGISTRY, sourceModelPath } from '../../models/registry.ts';
import { createCpuSession } from '../../models/runtime/ort-session.ts';
import type { RgbImage } from '../../models/segmentation/rgb-image.ts';
import { readRgbImage } from '../../models/segmentation/read-image.ts';
import { readTfliteModel } from '../../models/tflite/tflite-reader.ts';
import { extractFrame, mediaSkipReason } from './helpers/shared-media.ts';

const entry = MODEL_REGISTRY['face-full'];

describe('face-full model', () => {
  const sessions = {} as Record<FaceModelName, ort.InferenceSession>;
  let dir = '';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'face-full-'));
    for (const name of ['short', 'full'] as const) sessions[name] = await createCpuSession((await buildModelBytes(FACE_MODELS[name].modelId)).onnx);
  });

  after(async () => {
    for (const s of Object.values(sessions)) await s.release();
    await rm(dir, { recursive: true, force: true });
  });

  async function detect(name: FaceModelName, image: RgbImage): Promise<FaceDetection[]> {
    const spec = FACE_MODELS[name];
    const { tensor, letterbox } = letterboxToTensor(image, spec.inputSize);
    const out = await sessions[name].run({ input: new ort.Tensor('float32', tensor, [1, spec.inputSize, spec.inputSize, 3]) });
    const faces = decodeFaceDetections(out[spec.outputNames.regressors]!.data as Float32Array, out[spec.outputNames.classificators]!.data as Float32Array, spec.decode, spec.anchors);
    return faces.map((f) => detectionToImagePx(f, letterbox));
  }

  test('the source keeps 46 weights sparse (CSR on the last dim), each densified by a DENSIFY op', async () => {
    const model = readTfliteModel(await readFile(sourceModelPath('face-full')), 'face_detection_full_range_sparse.tflite');
    const sparse = model.tensors.filter((t) => t.sparsity);
    assert.equal(sparse.length, 46);
    assert.equal(model.operators.filter((o) => o.opName === 'DENSIFY').length, 46);
    for (const t of sparse) assert.deepEqual(t.sparsity!.dimMetadata.map((d) => d.format), ['DENSE', 'DENSE', 'DENSE', 'SPARSE_CSR'], t.name);
  });

  test('has the registry inputs and outputs and finds no face in a flat grey image', async () => {
    const s = sessions.full;
    assert.deepEqual(s.inputNames, ['input']);
    assert.deepEqual(s.outputNames, ['regressors', 'classificators']);
    const out = await s.run({ input: new ort.Tensor('float32', new Float32Array(192 * 192 * 3), entry.input.shape) });
    assert.deepEqual(out.regressors!.dims, entry.outputs[0]!.shape);
    assert.deepEqual(out.classificators!.dims, entry.outputs[1]!.shape);
    const spec = FACE_MODELS.full;
    assert.equal(decodeFaceDetections(out.regressors!.data as Float32Array, out.classificators!.data as Float32Array, spec.decode, spec.anchors).length, 0);
  });

  for (const atSec of [0.5, 1.5]) {
    test(`agrees with face-short on the close face of head-pose-face-detection-female.gif at ${atSec}s`, { skip: mediaSkipReason }, async (t) => {
      const image = await readRgbImage(await extractFrame('head-pose-face-detection-female.gif', atSec, path.join(dir, `head-pose-${atSec}.png`)));
      const [short, full] = [await detect('short', image), await detect('full', image)];
      assert.equal(full.length, 1, `full range found ${full.length} faces`);
      assert.equal(short.length, 1, `short range found ${short.length} faces`);
      const iou = boxIou(short[0]!, full[0]!);
      const eyeGapPx = Math.hypot(short[0]!.keypoints[0]!.x - full[0]!.keypoints[0]!.x, short[0]!.keypoints[0]!.y - full[0]!.keypoints[0]!.y);
      t.diagnostic(`full score ${full[0]!.score.toFixed(3)} box ${full[0]!.width.toFixed(0)} px; short score ${short[0]!.score.toFixed(3)} box ${short[0]!.width.toFixed(0)} px; IoU ${iou.toFixed(3)}, right-eye gap ${eyeGapPx.toFixed(1)} px`);
      assert.ok(iou > 0.5, `IoU ${iou}`);
      assert.ok(eyeGapPx < full[0]!.width * 0.15, `right eyes ${eyeGapPx} px apart`);
    });
  }

  test('finds the three people of face-demographics-walking-and-pause.gif at 2s, where face-short finds none', { skip: mediaSkipReason }, async (t) => {
    const image = await readRgbImage(await extractFrame('face-demographics-walking-and-pause.gif', 2, path.join(dir, 'demographics-2.png')));
    const full = await detect('full', image);
    t.diagnostic(`full: ${full.map((f) => `${f.width.toFixed(0)} px @ ${f.score.toFixed(2)}`).join(', ')}; short: ${(await detect('short', image)).length}`);
    assert.equal(full.length, 3);
    const centresX = full.map((f) => f.xMin + f.width / 2).sort((a, b) => a - b);
    // three people side by side: faces spread across the frame, not stacked on one person
    assert.ok(centresX[1]! - centresX[0]! > 60 && centresX[2]! - centresX[1]! > 60, `centres ${centresX}`);
  });
});
