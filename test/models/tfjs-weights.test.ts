// tfjs-weights.ts: the manifest reader and dequantisation, on hand-made shards and on face-api's real manifest.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { decodeTfjsWeights, parseTfjsWeightsManifest, TfjsWeightsError, type TfjsWeightsManifest } from '../../models/tfjs/tfjs-weights.ts';
import { sourceModelPath } from '../../models/registry.ts';

const shardsOf = (files: Record<string, Uint8Array>) => (name: string) => {
  const bytes = files[name];
  if (!bytes) throw new Error(`no shard ${name}`);
  return bytes;
};

describe('parseTfjsWeightsManifest', () => {
  const bad: [string, string, RegExp][] = [
    ['not JSON', '{', /not JSON/],
    ['not an array', '{"paths": []}', /not an array/],
    ['a group without paths', '[{"weights": []}]', /group 0 needs "paths"/],
    ['a weight without a shape', '[{"paths": ["a.bin"], "weights": [{"name": "w", "dtype": "float32"}]}]', /group 0 needs/],
  ];
  for (const [name, json, message] of bad) {
    test(`rejects ${name} with TfjsWeightsError naming the source`, () => {
      assert.throws(() => parseTfjsWeightsManifest(json, 'pkg/m.json'), (err: unknown) => err instanceof TfjsWeightsError && err.code === 'ERR_TFJS_WEIGHTS' && /^pkg\/m\.json: /.test(err.message) && message.test(err.message));
    });
  }
});

describe('decodeTfjsWeights', () => {
  test('decodes uint8 and uint16 as q * scale + min, float16 exactly and float32 as is, across concatenated shards', () => {
    const manifest: TfjsWeightsManifest = [
      {
        paths: ['a.bin', 'b.bin'],
        weights: [
          { name: 'q8', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
          { name: 'q16', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 10 } },
          { name: 'h', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
          { name: 'f', shape: [1], dtype: 'float32' },
        ],
      },
    ];
    const all = new Uint8Array([0, 1, 2, 255, ...new Uint8Array(Uint16Array.of(0, 1000).buffer), ...new Uint8Array(Uint16Array.of(0x3c00, 0xc000).buffer), ...new Uint8Array(Float32Array.of(3.25).buffer)]);
    // The group's bytes split across two shards mid-weight, as tfjs allows.
    const weights = decodeTfjsWeights(manifest, shardsOf({ 'a.bin': all.slice(0, 5), 'b.bin': all.slice(5) }), 'test');
    assert.deepEqual([...weights.get('q8')!.data], [-1, -0.5, 0, 126.5]);
    assert.deepEqual(weights.get('q8')!.shape, [2, 2]);
    assert.deepEqual([...weights.get('q16')!.data], [10, 260]);
    assert.deepEqual([...weights.get('h')!.data], [1, -2]);
    assert.deepEqual([...weights.get('f')!.data], [3.25]);
  });

  const one = (w: object, bytes: number): [TfjsWeightsManifest, Uint8Array] => [[{ paths: ['a.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32', ...w }] }] as TfjsWeightsManifest, new Uint8Array(bytes)];
  const cases: [string, TfjsWeightsManifest, Uint8Array, RegExp][] = [
    ['a non-float32 weight', ...one({ dtype: 'int32' }, 8), /dtype int32/],
    ['an unknown quantisation', ...one({ quantization: { dtype: 'int4', scale: 1, min: 0 } }, 8), /unsupported quantization dtype int4/],
    ['shards shorter than the weights', ...one({}, 7), /needs bytes 0\.\.8 but the shards hold 7/],
    ['shards longer than the weights', ...one({}, 9), /hold 9 bytes, the weights use 8/],
    [
      'a duplicate name',
      [{ paths: ['a.bin'], weights: [{ name: 'w', shape: [1], dtype: 'float32' }, { name: 'w', shape: [1], dtype: 'float32' }] }],
      new Uint8Array(8),
      /'w' appears twice/,
    ],
  ];
  for (const [name, manifest, bytes, message] of cases) {
    test(`throws TfjsWeightsError for ${name}`, () => {
      assert.throws(() => decodeTfjsWeights(manifest, shardsOf({ 'a.bin': bytes }), 'test'), (err: unknown) => err instanceof TfjsWeightsError && message.test(err.message));
    });
  }

  test("reads face-api's face recognition manifest: 117 weights (109 uint8-quantised), 7x7x3x32 first filters, fc 256x128", () => {
    const manifestPath = sourceModelPath('face-embed');
    const manifest = parseTfjsWeightsManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
    const weights = decodeTfjsWeights(manifest, (p) => new Uint8Array(readFileSync(path.join(path.dirname(manifestPath), p))), manifestPath);
    assert.equal(weights.size, 117);
    assert.equal(manifest.flatMap((g) => g.weights).filter((w) => w.quantization?.dtype === 'uint8').length, 109);
    assert.deepEqual(weights.get('conv32_down/conv/filters')!.shape, [7, 7, 3, 32]);
    assert.deepEqual(weights.get('fc')!.shape, [256, 128]);
    for (const [name, w] of weights) assert.ok(w.data.every(Number.isFinite), `${name} is finite`);
  });
});
