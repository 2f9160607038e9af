// face-embedder.ts: feeds, normalisation and errors, with a stub runner (no model) and with the built model.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { cosineSimilarity, FACE_EMBEDDING_LENGTH, FaceEmbedder, FaceEmbeddingError, l2Normalise, openFaceEmbedder, type EmbeddingRunner } from '../../models/face/face-embedder.ts';
import type { RgbImage } from '../../models/segmentation/rgb-image.ts';

const chipOf = (value: number, size = 150): RgbImage => ({ data: new Uint8Array(size * size * 3).fill(value), width: size, height: size, channels: 3 });

function stubRunner(output: Record<string, ort.Tensor>): EmbeddingRunner & { feeds: Record<string, ort.Tensor>[] } {
  const feeds: Record<string, ort.Tensor>[] = [];
  return { feeds, run: async (f) => (feeds.push(f), output) };
}

describe('FaceEmbedder with a stub runner', () => {
  const raw = Float32Array.from({ length: FACE_EMBEDDING_LENGTH }, (_, i) => (i % 2 ? 0.5 : -0.25));

  test("feeds 'input' [1, 150, 150, 3] float32 of the raw 0..255 values and L2-normalises 'descriptor'", async () => {
    const runner = stubRunner({ descriptor: new ort.Tensor('float32', raw, [1, FACE_EMBEDDING_LENGTH]) });
    const embedder = new FaceEmbedder(runner);
    const e = await embedder.embed(chipOf(200));
    const input = runner.feeds[0]!.input!;
    assert.deepEqual([input.type, input.dims], ['float32', [1, 150, 150, 3]]);
    assert.ok((input.data as Float32Array).every((v) => v === 200));
    assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-6);
    assert.ok(Math.abs(cosineSimilarity(e, raw) - 1) < 1e-6);
    assert.deepEqual([...(await embedder.descriptor(chipOf(1)))], [...raw]);
  });

  test('rejects a chip of another size, and a model without a float32 descriptor of 128 values, with FaceEmbeddingError', async () => {
    const good = new FaceEmbedder(stubRunner({ descriptor: new ort.Tensor('float32', raw, [1, FACE_EMBEDDING_LENGTH]) }));
    await assert.rejects(good.embed(chipOf(0, 112)), (err: unknown) => err instanceof FaceEmbeddingError && err.code === 'ERR_FACE_EMBEDDING' && /112x112x3/.test(err.message));
    await assert.rejects(good.embed({ ...chipOf(0), channels: 4 }), FaceEmbeddingError);
    const wrong: Record<string, ort.Tensor>[] = [{ other: new ort.Tensor('float32', raw, [1, 128]) }, { descriptor: new ort.Tensor('float32', raw.subarray(0, 64), [1, 64]) }];
    for (const output of wrong) {
      await assert.rejects(new FaceEmbedder(stubRunner(output)).embed(chipOf(0)), FaceEmbeddingError);
    }
  });

  test('l2Normalise keeps a zero vector zero; cosineSimilarity checks lengths', () => {
    assert.deepEqual([...l2Normalise(new Float32Array(3))], [0, 0, 0]);
    assert.deepEqual([...l2Normalise(Float32Array.of(3, 4))], [0.6000000238418579, 0.800000011920929]);
    assert.throws(() => cosineSimilarity([1, 2], [1]), RangeError);
  });
});

describe('FaceEmbedder on the built face-embed.onnx', () => {
  test('gives unit-length embeddings that tell a grey chip from a noise chip', async () => {
    const embedder = await openFaceEmbedder();
    try {
      const noise: RgbImage = { ...chipOf(0), data: Uint8Array.from({ length: 150 * 150 * 3 }, (_, i) => (i * 7919) % 256) };
      const [grey, grey2, noisy] = [await embedder.embed(chipOf(128)), await embedder.embed(chipOf(128)), await embedder.embed(noise)];
      assert.equal(grey.length, FACE_EMBEDDING_LENGTH);
      for (const e of [grey, noisy]) assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-5);
      assert.deepEqual(grey, grey2, 'deterministic');
      assert.ok(cosineSimilarity(grey, noisy) < 0.99, `grey vs noise cosine ${cosineSimilarity(grey, noisy)}`);
    } finally {
      await embedder.close();
    }
  });
});
