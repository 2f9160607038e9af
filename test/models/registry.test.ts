// The registry's pinned hashes match a fresh deterministic build, and model checks fail with clear codes.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildModelBytes } from '../../models/build-model.ts';
import { fileSha256 } from '../../models/file-sha256.ts';
import { MODEL_IDS, MODEL_REGISTRY, MODELS_BUILD_DIR, modelEntry, modelPath, ModelFileError, sourceFileHashes, sourceModelPath, verifyModelFile } from '../../models/registry.ts';

describe('model registry', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'registry-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('lists selfie, selfie-landscape, face-short, face-full and face-embed with NHWC float inputs named input', () => {
    assert.deepEqual(MODEL_IDS, ['selfie', 'selfie-landscape', 'face-short', 'face-full', 'face-embed']);
    for (const id of MODEL_IDS) {
      const e = MODEL_REGISTRY[id];
      assert.equal(e.input.name, 'input');
      assert.equal(e.input.layout, 'NHWC');
      // MediaPipe TFLite models are Apache-2.0; dlib's descriptor comes as MIT tfjs weights from @vladmandic/face-api.
      assert.deepEqual([e.source.kind, e.licence.spdx], id === 'face-embed' ? ['tfjs-weights', 'MIT'] : ['tflite', 'Apache-2.0']);
      assert.ok(e.licence.holder && e.licence.text && e.licence.note, `${id}: licence fields filled`);
      assert.equal(modelPath(id), path.join(MODELS_BUILD_DIR, e.onnxFile));
      assert.ok(path.isAbsolute(modelPath(id)));
    }
    assert.throws(() => modelEntry('nope'), (err: unknown) => err instanceof ModelFileError && err.code === 'ERR_MODEL_UNKNOWN');
  });

  for (const id of MODEL_IDS) {
    test(`${id}: source sha256 and deterministic build sha256 match the registry`, async () => {
      const files = sourceFileHashes(id);
      assert.ok(files.some((f) => f.path === sourceModelPath(id)), 'the main source file is pinned');
      for (const f of files) assert.equal(await fileSha256(f.path), f.sha256, f.path);
      const [first, second] = [await buildModelBytes(id), await buildModelBytes(id)];
      assert.equal(first.onnxSha256, second.onnxSha256, 'build is not deterministic');
      assert.equal(first.onnxSha256, MODEL_REGISTRY[id].onnxSha256, 'registry onnxSha256 is stale');
    });
  }

  test('verifyModelFile: ERR_MODEL_MISSING names the file and the build command', async () => {
    await assert.rejects(verifyModelFile('selfie', dir), (err: unknown) => {
      assert.ok(err instanceof ModelFileError);
      assert.equal(err.code, 'ERR_MODEL_MISSING');
      assert.ok(err.message.includes(path.join(dir, 'selfie.onnx')) && err.message.includes('npm run build:models'), err.message);
      return true;
    });
  });

  test('verifyModelFile: ERR_MODEL_CORRUPT on a hash mismatch, path on success', async () => {
    const target = path.join(dir, MODEL_REGISTRY['face-short'].onnxFile);
    await writeFile(target, 'not a model');
    await assert.rejects(verifyModelFile('face-short', dir), (err: unknown) => err instanceof ModelFileError && err.code === 'ERR_MODEL_CORRUPT' && err.message.includes(target));
    await writeFile(target, (await buildModelBytes('face-short')).onnx);
    assert.equal(await verifyModelFile('face-short', dir), target);
  });
});
