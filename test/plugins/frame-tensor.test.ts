// i420ToTensor: the model input made from the I420 frame in the worker, checked against a float
// reference of the same definition, against ffmpeg's own scaler on real footage, and by the mask the
// real segmentation model computes from it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { modelPath } from '../../models/registry.ts';
import { createCpuSession } from '../../models/runtime/ort-session.ts';
import { i420ToTensor } from '../../plugins/frame-tensor.ts';
import type { YuvFrame } from '../../plugins/plugin-api.ts';
import { mediaDir, mediaSkipReason } from '../models/helpers/shared-media.ts';

const W = 1280;
const H = 720;

async function ffmpegBytes(args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('ffmpeg', ['-v', 'error', '-nostdin', ...args], { encoding: 'buffer', maxBuffer: 1 << 25 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    if (input) child.stdin!.end(input);
  });
}

function frameOf(bytes: Uint8Array, width: number, height: number): YuvFrame {
  const ab = new Uint8Array(bytes).buffer;
  const c = (width / 2) * (height / 2);
  return { width, height, index: 0, ptsMs: 0, y: new Uint8Array(ab, 0, width * height), u: new Uint8Array(ab, width * height, c), v: new Uint8Array(ab, width * height + c, c) };
}

function solidFrame(width: number, height: number, y: number, u: number, v: number): YuvFrame {
  const c = (width / 2) * (height / 2);
  return { width, height, index: 0, ptsMs: 0, y: new Uint8Array(width * height).fill(y), u: new Uint8Array(c).fill(u), v: new Uint8Array(c).fill(v) };
}

/**
 * The same definition in plain floating point: bilinear with half-pixel centres (luma to the tensor
 * size, chroma to half of it, one chroma sample per 2x2 block), then BT.601 limited range to RGB.
 */
function reference(frame: YuvFrame, dw: number, dh: number): Float32Array {
  const sample = (plane: Uint8Array, pw: number, ph: number, x: number, y: number, tw = dw, th = dh) => {
    const sx = Math.min(Math.max((x + 0.5) * (pw / tw) - 0.5, 0), pw - 1);
    const sy = Math.min(Math.max((y + 0.5) * (ph / th) - 0.5, 0), ph - 1);
    const x0 = Math.floor(sx); const y0 = Math.floor(sy);
    const x1 = Math.min(x0 + 1, pw - 1); const y1 = Math.min(y0 + 1, ph - 1);
    const fx = sx - x0; const fy = sy - y0;
    const top = plane[y0 * pw + x0]! * (1 - fx) + plane[y0 * pw + x1]! * fx;
    const bottom = plane[y1 * pw + x0]! * (1 - fx) + plane[y1 * pw + x1]! * fx;
    return top * (1 - fy) + bottom * fy;
  };
  const out = new Float32Array(dw * dh * 3);
  const clamp = (x: number) => Math.min(255, Math.max(0, x)) / 255;
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      const l = 1.164383 * (sample(frame.y, frame.width, frame.height, x, y) - 16);
      const [cw, ch] = [Math.ceil(dw / 2), Math.ceil(dh / 2)];
      const cb = sample(frame.u, frame.width / 2, frame.height / 2, x >> 1, y >> 1, cw, ch) - 128;
      const cr = sample(frame.v, frame.width / 2, frame.height / 2, x >> 1, y >> 1, cw, ch) - 128;
      const o = (y * dw + x) * 3;
      out[o] = clamp(l + 1.596027 * cr);
      out[o + 1] = clamp(l - 0.391762 * cb - 0.812968 * cr);
      out[o + 2] = clamp(l + 2.017232 * cb);
    }
  }
  return out;
}

test('solid colours: black, white, grey and saturated primaries land where BT.601 puts them, in the asked range', () => {
  const cases: [number, number, number, [number, number, number]][] = [
    [16, 128, 128, [0, 0, 0]], [235, 128, 128, [255, 255, 255]], [126, 128, 128, [128, 128, 128]],
    [81, 90, 240, [255, 0, 0]], [145, 54, 34, [0, 255, 0]], [41, 240, 110, [0, 0, 255]],
  ];
  for (const [y, u, v, rgb] of cases) {
    const t = i420ToTensor(solidFrame(64, 36, y, u, v), { width: 16, height: 9, range: [0, 1] });
    assert.equal(t.length, 16 * 9 * 3);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(t[100 * 3 + c]! * 255 - rgb[c]!) <= 2.5, `YUV ${y},${u},${v} channel ${c}: ${t[100 * 3 + c]! * 255} vs ${rgb[c]}`);
    const signed = i420ToTensor(solidFrame(64, 36, y, u, v), { width: 16, height: 9, range: [-1, 1] });
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(signed[c]! - (t[c]! * 2 - 1)) < 1e-6);
  }
});

test('writes into a given buffer of the right length, allocates otherwise; rejects an empty size', () => {
  const frame = solidFrame(8, 4, 100, 120, 140);
  const out = new Float32Array(4 * 2 * 3);
  assert.equal(i420ToTensor(frame, { width: 4, height: 2, range: [0, 1] }, out), out);
  assert.notEqual(i420ToTensor(frame, { width: 4, height: 2, range: [0, 1] }, new Float32Array(5)).length, 5);
  assert.throws(() => i420ToTensor(frame, { width: 0, height: 2, range: [0, 1] }), RangeError);
});

describe('on real footage at 1280x720', { skip: mediaSkipReason }, () => {
  const frames: { name: string; frame: YuvFrame; yuv: Buffer }[] = [];
  let session: ort.InferenceSession;

  before(async () => {
    for (const [file, at] of [['sister.mkv', 0.5], ['again.mkv', 1.2]] as const) {
      const yuv = await ffmpegBytes(['-ss', String(at), '-i', path.join(mediaDir, file), '-frames:v', '1', '-vf', `scale=${W}:${H}`, '-pix_fmt', 'yuv420p', '-f', 'rawvideo', '-']);
      frames.push({ name: `${file}@${at}s`, frame: frameOf(yuv, W, H), yuv });
    }
    session = await createCpuSession(modelPath('selfie-landscape'));
  });
  after(async () => { await session?.release(); });

  // Integer rounding of the interpolated Y, U and V before the colour transform costs up to
  // ~0.6 (Y x 1.164) + ~1 (U x 2.017) levels; on average it is a fraction of a level.
  test('matches the float reference within 2.5 levels (mean under 0.5), for the landscape and square sizes', () => {
    for (const { name, frame } of frames) {
      for (const [dw, dh] of [[256, 144], [256, 256], [128, 128]]) {
        const ours = i420ToTensor(frame, { width: dw!, height: dh!, range: [0, 1] });
        const ref = reference(frame, dw!, dh!);
        let max = 0;
        let sum = 0;
        for (let i = 0; i < ref.length; i++) {
          const d = Math.abs(ours[i]! - ref[i]!) * 255;
          max = Math.max(max, d);
          sum += d;
        }
        assert.ok(max <= 2.5 && sum / ref.length < 0.5, `${name} ${dw}x${dh}: max diff ${max.toFixed(2)}, mean ${(sum / ref.length).toFixed(3)} levels`);
      }
    }
  });

  test("agrees with ffmpeg's bilinear scaler (mean difference under 5 levels) and gives the same mask (IoU > 0.99)", async (t) => {
    for (const { name, frame, yuv } of frames) {
      const rgb = await ffmpegBytes(['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-i', '-', '-vf', 'scale=256:144:flags=bilinear,format=rgb24', '-f', 'rawvideo', '-'], yuv);
      const ff = Float32Array.from(rgb, (v) => v / 255);
      const ours = i420ToTensor(frame, { width: 256, height: 144, range: [0, 1] });
      let mad = 0;
      for (let i = 0; i < ff.length; i++) mad += Math.abs(ff[i]! - ours[i]!) * 255;
      mad /= ff.length;
      const mask = async (x: Float32Array) => (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, 144, 256, 3]) }))[session.outputNames[0]!]!.data as Float32Array;
      const a = await mask(ff);
      const b = await mask(ours);
      let inter = 0; let union = 0; let person = 0;
      for (let i = 0; i < a.length; i++) {
        if (a[i]! > 0.5) person++;
        if (a[i]! > 0.5 && b[i]! > 0.5) inter++;
        if (a[i]! > 0.5 || b[i]! > 0.5) union++;
      }
      t.diagnostic(`${name}: mean difference ${mad.toFixed(2)} levels, mask IoU ${(inter / union).toFixed(4)}, person ${(person / a.length).toFixed(3)}`);
      assert.ok(mad < 5, `${name}: ${mad}`);
      assert.ok(person / a.length > 0.05, `${name}: the frame shows a person`);
      assert.ok(inter / union > 0.99, `${name}: IoU ${inter / union}`);
    }
  });
});
