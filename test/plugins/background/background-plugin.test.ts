import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tensor } from 'onnxruntime-node';
import plugin, { type BackgroundOptions } from '../../../plugins/background/index.ts';
import { resolveModel } from '../../../plugins/background/background-options.ts';
import { shouldReuseMask, type BackgroundState } from '../../../plugins/background/background-worker.ts';
import type { ModelRunner } from '../../../plugins/plugin-api.ts';
import { createPluginTestHost, rgbToYuvFrame, solidRgbImage, validatePluginOptions } from '../../../plugins/plugin-test-host.ts';

const DEFAULTS: BackgroundOptions = {
  mode: 'color', color: 'c0c0c0', blurRadiusPx: 16, image: '', imagePath: '', threshold: 0.5, edgeSoftness: 0.15, smoothing: 0.7, model: 'auto',
};

/** A fake model: confidence from `conf(x, y, w, h)`, shaped [1, h, w, 1]; counts runs. */
function fakeRunner(conf: (x: number, y: number, w: number, h: number) => number): ModelRunner & { runs: number; dims: number[] } {
  const runner = {
    runs: 0,
    dims: [] as number[],
    inputNames: ['input'] as const,
    outputNames: ['mask'] as const,
    async run(feeds: Record<string, Tensor>) {
      runner.runs++;
      const input = feeds.input;
      const [, h, w, c] = input.dims;
      runner.dims = [...input.dims];
      assert.equal(c, 3);
      const data = input.data as Float32Array;
      assert.ok(data.every((v) => v >= 0 && v <= 1), 'input in 0..1');
      const out = new Float32Array(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = conf(x, y, w, h);
      return { mask: new Tensor('float32', out, [1, h, w, 1]) };
    },
  };
  return runner;
}

test('options schema: a default on every property, defaults as documented', () => {
  for (const [key, prop] of Object.entries(plugin.optionsSchema.properties as Record<string, { default?: unknown }>)) {
    assert.ok(prop.default !== undefined, `${key} has a default`);
  }
  assert.deepEqual(validatePluginOptions(plugin, {}), DEFAULTS);
});

test('options schema rejects bad values, naming the option', () => {
  const bad: [Partial<Record<keyof BackgroundOptions | 'extra', unknown>>, string][] = [
    [{ mode: 'sepia' }, 'mode'],
    [{ color: 'red' }, 'color'],
    [{ color: '#c0c0c0' }, 'color'],
    [{ blurRadiusPx: 0 }, 'blurRadiusPx'],
    [{ blurRadiusPx: 65 }, 'blurRadiusPx'],
    [{ blurRadiusPx: 2.5 }, 'blurRadiusPx'],
    [{ threshold: 1.5 }, 'threshold'],
    [{ edgeSoftness: 0.6 }, 'edgeSoftness'],
    [{ smoothing: -0.1 }, 'smoothing'],
    [{ model: 'deeplab' }, 'model'],
    [{ extra: 1 }, 'additional'],
  ];
  for (const [options, name] of bad) {
    assert.throws(() => validatePluginOptions(plugin, options as Partial<BackgroundOptions>), (e: Error) => e.message.includes(name) && e.message.includes("'background'"), JSON.stringify(options));
  }
});

test('definition: name, models, passthrough, worker file; auto picks the landscape model for wide frames', () => {
  assert.equal(plugin.name, 'background');
  assert.deepEqual(plugin.models, ['selfie', 'selfie-landscape']);
  for (const [raw, passthrough] of [[{}, false], [{ mode: 'blur' }, false], [{ mode: 'none' }, true]] as const) {
    assert.equal(plugin.isPassthrough!(validatePluginOptions(plugin, raw)), passthrough);
  }
  assert.ok(existsSync(fileURLToPath(plugin.workerModule)));
  const cases: [BackgroundOptions['model'], number, number, string][] = [
    ['auto', 1280, 720, 'selfie-landscape'], ['auto', 1920, 1080, 'selfie-landscape'], ['auto', 300, 200, 'selfie-landscape'],
    ['auto', 640, 480, 'selfie'], ['auto', 720, 1280, 'selfie'], ['auto', 512, 512, 'selfie'],
    ['selfie', 1280, 720, 'selfie'], ['selfie-landscape', 720, 1280, 'selfie-landscape'],
  ];
  for (const [model, w, h, expected] of cases) assert.equal(resolveModel(model, w, h), expected, `${model} ${w}x${h}`);
});

test('worker (fake model): left half person keeps the frame, right half becomes the colour', async () => {
  const runner = fakeRunner((x, _y, w) => (x < w / 2 ? 1 : 0));
  const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { edgeSoftness: 0 }, { openModel: async () => runner });
  try {
    const image = solidRgbImage(64, 32, (x) => (x < 32 ? [200, 30, 30] : [20, 120, 220]));
    const { output, result } = await host.processRgb(image);
    assert.equal(runner.runs, 1);
    assert.deepEqual(runner.dims, [1, 144, 256, 3], 'a 2:1 frame runs the landscape model');
    const px = (x: number, y: number) => [...output.rgb.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3)];
    for (const y of [0, 15, 31]) {
      px(4, y).forEach((v, i) => assert.ok(Math.abs(v - [200, 30, 30][i]) <= 4, `person ${px(4, y)}`));
      px(60, y).forEach((v) => assert.ok(Math.abs(v - 192) <= 3, `background ${px(60, y)}`));
    }
    assert.deepEqual(Object.keys(result.timings!).sort(), ['compositeMs', 'inferenceMs', 'maskMs', 'preprocessMs']);
    assert.ok(host.state!.previousMask instanceof Float32Array && host.state!.previousMask.length === 256 * 144);
  } finally {
    await host.close();
  }
});

test('worker (fake model): temporal smoothing carries the previous mask through state', async () => {
  let confidence = 1;
  const runner = fakeRunner(() => confidence);
  const image = solidRgbImage(32, 16, () => [20, 200, 20]);
  const outputs: Record<string, number[]> = {};
  for (const smoothing of [0, 1]) {
    const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { smoothing, edgeSoftness: 0.1 }, { openModel: async () => runner });
    confidence = 1;
    await host.processRgb(image);
    confidence = 0.5; // maximally uncertain: with smoothing 1 the past (1) wins.
    const { output } = await host.processRgb(image);
    outputs[smoothing] = [...output.rgb.subarray(0, 3)];
    assert.ok(Math.abs(host.state!.previousMask[0] - (smoothing === 1 ? 1 : 0.5)) < 1e-3, `smoothing ${smoothing}: mask ${host.state!.previousMask[0]}`);
    await host.close();
  }
  assert.ok(Math.abs(outputs[1][1] - 200) <= 4, `smoothing 1 keeps the person: ${outputs[1]}`);
  assert.ok(outputs[0][1] < 200 - 2 && outputs[0][1] > 192 + 2, `smoothing 0 blends half way: ${outputs[0]}`);
});

test("worker: mode 'none' leaves the frame alone and runs no model", async () => {
  const runner = fakeRunner(() => 0);
  const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { mode: 'none' }, { openModel: async () => runner });
  const image = solidRgbImage(16, 8, (x, y) => [x * 10, y * 20, 30]);
  const { frame } = await host.processRgb(image);
  assert.equal(runner.runs, 0);
  assert.deepEqual(frame, rgbToYuvFrame(image));
  await host.close();
});

test('worker: errors name the stream and the model output problem, or the image file', async () => {
  const wrong: ModelRunner = {
    inputNames: ['input'], outputNames: ['mask'],
    run: async () => ({ mask: new Tensor('float32', new Float32Array(16), [1, 4, 4, 1]) }),
  };
  const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, {}, { openModel: async () => wrong, streamPath: '/live/x' });
  const image = solidRgbImage(16, 8, () => [10, 20, 30]);
  await assert.rejects(host.processRgb(image), /\/live\/x.*'selfie-landscape'.*\[1, 4, 4, 1\].*\[1, 144, 256, 1\]/);
  await host.close();
  const runner = fakeRunner(() => 0);
  const imageHost = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { mode: 'image', imagePath: '/nonexistent/bg.png' }, { openModel: async () => runner });
  await assert.rejects(imageHost.processRgb(image), /\/nonexistent\/bg\.png/);
  await imageHost.close();
});

test('worker: switching model size ignores the old mask instead of failing', async () => {
  const runner = fakeRunner(() => 1);
  const image = solidRgbImage(32, 16, () => [20, 200, 20]);
  const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { model: 'selfie' }, { openModel: async () => runner });
  await host.processRgb(image);
  assert.equal(host.state!.previousMask.length, 256 * 256);
  const landscape = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, { model: 'selfie-landscape' }, { openModel: async () => runner });
  const frame = (await landscape.processRgb(image)).frame;
  const { state } = await (await import('../../../plugins/background/background-worker.ts')).default.process({
    frame, options: landscape.options, state: host.state, model: async () => runner, streamPath: '/t', annotations: {},
  });
  assert.equal(state!.previousMask.length, 256 * 144);
  await host.close();
  await landscape.close();
});

test('worker: a mask emptied by a lost transfer (detached) is ignored, not read', async () => {
  const runner = fakeRunner(() => 1);
  const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, {}, { openModel: async () => runner, modelIntervalFrames: 3 });
  const image = solidRgbImage(32, 16, () => [20, 200, 20]);
  const frame = (await host.processRgb(image)).frame;
  const moved = host.state!;
  structuredClone(moved.previousMask.buffer, { transfer: [moved.previousMask.buffer] });
  assert.equal(moved.previousMask.length, 0);
  const { state } = await (await import('../../../plugins/background/background-worker.ts')).default.process({
    frame: { ...frame, index: frame.index + 1 }, options: host.options, state: moved, model: async () => runner, streamPath: '/t', modelIntervalFrames: 3, annotations: {},
  });
  assert.equal(runner.runs, 2, 'the model ran again instead of reusing the empty mask');
  assert.equal(state!.previousMask.length, 256 * 144);
  await host.close();
});

test('shouldReuseMask table', () => {
  const state: BackgroundState = { previousMask: new Float32Array(4), maskWidth: 2, maskHeight: 2, modelFrameIndex: 10 };
  const cases: [BackgroundState | undefined, number, number, boolean, string][] = [
    [undefined, 11, 3, false, 'no state'],
    [state, 11, 1, false, 'interval 1'],
    [state, 11, 3, true, '1 frame after'],
    [state, 12, 3, true, '2 frames after'],
    [state, 13, 3, false, 'interval elapsed'],
    [state, 10, 3, false, 'same index'],
    [state, 2, 3, false, 'index went backwards (reconnect)'],
    [{ ...state, maskWidth: 3 }, 11, 3, false, 'other model size'],
  ];
  for (const [s, index, interval, expected, name] of cases) assert.equal(shouldReuseMask(s, index, interval, 2, 2), expected, name);
});

test('worker (fake model): modelIntervalFrames 3 runs the model on every third frame and still composites', async () => {
  const runner = fakeRunner((x, _y, w) => (x < w / 2 ? 1 : 0));
  const host = await createPluginTestHost<BackgroundOptions, BackgroundState>(plugin, {}, { openModel: async () => runner, modelIntervalFrames: 3 });
  try {
    const image = solidRgbImage(32, 16, () => [20, 120, 220]);
    for (let i = 0; i < 7; i++) {
      const { output, result } = await host.processRgb(image);
      assert.ok(Math.abs(output.rgb[(8 * 32 + 30) * 3] - 192) <= 3, `frame ${i}: background replaced`);
      assert.equal(result.timings!.inferenceMs === 0, i % 3 !== 0, `frame ${i}`);
    }
    assert.equal(runner.runs, 3);
  } finally {
    await host.close();
  }
});

test('worker (fake model): frames that reuse the mask reuse its matte, the same output as upsampling again', async () => {
  const runner = fakeRunner((x, y, w) => (x + y < w / 2 ? 1 : x + y < w / 2 + 6 ? 0.5 : 0)); // a diagonal, soft edge
  const worker = (await import('../../../plugins/background/background-worker.ts')).default;
  const image = solidRgbImage(64, 36, (x) => [x * 4, 120, 255 - x * 4]);
  const options = { ...DEFAULTS };
  const call = async (index: number, state: BackgroundState | undefined, streamPath: string, opts = options) => {
    const frame = rgbToYuvFrame(image, index);
    const result = await worker.process({ frame, options: opts, state, model: async () => runner, streamPath, modelIntervalFrames: 3, annotations: {} });
    return { frame, result, state: result.state as BackgroundState };
  };
  const first = await call(0, undefined, '/reuse');
  const second = await call(1, first.state, '/reuse');
  assert.equal(runner.runs, 1, 'frame 1 reuses the mask');
  assert.equal(second.result.timings!.maskMs, 0, 'and the matte: no matte work');
  assert.deepEqual([second.frame.y, second.frame.u, second.frame.v], [first.frame.y, first.frame.u, first.frame.v]);
  // Another stream's frame in between (same worker, same sizes) must not disturb this stream's matte.
  const other = fakeRunner(() => 0);
  await worker.process({ frame: rgbToYuvFrame(image, 0), options, state: undefined, model: async () => other, streamPath: '/other', modelIntervalFrames: 3, annotations: {} });
  const third = await call(2, second.state, '/reuse');
  assert.equal(third.result.timings!.maskMs, 0);
  assert.deepEqual([third.frame.y, third.frame.u, third.frame.v], [first.frame.y, first.frame.u, first.frame.v]);
  // A threshold change while the mask is reused makes a new matte from the same mask.
  const moved = await call(2, second.state, '/reuse', { ...options, threshold: 0.9 });
  assert.ok(moved.result.timings!.maskMs! > 0, 'the matte was made again');
  const fresh = await call(0, undefined, '/fresh', { ...options, threshold: 0.9 });
  assert.deepEqual([moved.frame.y, moved.frame.u, moved.frame.v], [fresh.frame.y, fresh.frame.u, fresh.frame.v]);
  assert.notDeepEqual(moved.frame.y, first.frame.y, 'the threshold matters for this mask');
});
