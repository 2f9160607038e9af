/**
 * Benchmark of the background plugin's per-frame JS work at 1280x720 (no inference): preprocessing,
 * mask smoothing + matte, alpha upsampling + colour composite, blur composite, image composite.
 * The copy that restores the frame before each composite (~0.1 ms) is included in those rows.
 * Deterministic synthetic input, warm-up, then median and p95 wall ms plus median CPU ms (the
 * thread's own time, steadier on a shared machine). Two baselines measured in the same run give
 * ratios that survive machine drift: a native copy of the frame's planes, and one plain JS pass
 * over every byte of the three planes (the floor for any per-pixel JS loop).
 *
 * Run: node --import tsx bench/composite.bench.ts [--frames 200]
 */
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type { YuvFrame } from '../plugins/plugin-api.ts';
import { confidenceToAlpha } from '../plugins/background/alpha-matte.ts';
import { compositeColor, compositePlanes } from '../plugins/background/composite-yuv.ts';
import { decodeImageBackground } from '../plugins/background/image-background.ts';
import { compositeBlur } from '../plugins/background/masked-blur.ts';
import { smoothMask } from '../plugins/background/mask-smoothing.ts';
import { createAlphaPlanes, upsampleAlpha } from '../plugins/background/upsample-alpha.ts';
import { hexToYuv } from '../plugins/yuv-color.ts';
import { i420ToTensor } from '../plugins/frame-tensor.ts';

const WIDTH = 1280;
const HEIGHT = 720;
const MODEL = 256;
const framesArg = process.argv.indexOf('--frames');
const FRAMES = framesArg > 0 ? Number(process.argv[framesArg + 1]) : 200;
const WARMUP = 30;

// Deterministic pseudo-random texture (LCG) over gradients: compositing cost does not depend on content,
// but the blur's and the matte's branches do depend on the alpha layout, so that is realistic.
function syntheticFrame(): YuvFrame {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  const y = new Uint8Array(WIDTH * HEIGHT);
  for (let i = 0; i < y.length; i++) y[i] = 16 + (((i % WIDTH) * 200) / WIDTH + (rnd() & 15)) | 0;
  const c = (WIDTH / 2) * (HEIGHT / 2);
  const u = new Uint8Array(c).map(() => 100 + (rnd() & 63));
  const v = new Uint8Array(c).map(() => 100 + (rnd() & 63));
  return { width: WIDTH, height: HEIGHT, y, u, v, index: 0, ptsMs: 0 };
}

// A head-and-shoulders blob: confidence 1 inside an ellipse, ramping to 0 over ~10 model px.
function syntheticConfidence(shift: number): Float32Array {
  const conf = new Float32Array(MODEL * MODEL);
  for (let y = 0; y < MODEL; y++) {
    for (let x = 0; x < MODEL; x++) {
      const dx = (x - 128 - shift) / 70;
      const dy = (y - 170) / 110;
      const d = Math.sqrt(dx * dx + dy * dy);
      conf[y * MODEL + x] = Math.min(1, Math.max(0, (1.05 - d) * 8));
    }
  }
  return conf;
}

function copyFrame(src: YuvFrame, dst: YuvFrame): void {
  dst.y.set(src.y);
  dst.u.set(src.u);
  dst.v.set(src.v);
}

interface Stats {
  median: number;
  p95: number;
  cpuMedian: number;
}

function percentile(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * q) - 1))];
}

function measure(run: (i: number) => void): Stats {
  for (let i = 0; i < WARMUP; i++) run(i);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run(i);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { median: percentile(wall, 0.5), p95: percentile(wall, 0.95), cpuMedian: percentile(cpu, 0.5) };
}

/** One JS pass over every plane byte: the cost floor of a per-pixel loop on this machine. */
function invertPlanes(f: YuvFrame): void {
  for (const plane of [f.y, f.u, f.v]) for (let i = 0; i < plane.length; i++) plane[i] = 255 - plane[i];
}

const source = syntheticFrame();
const frame = syntheticFrame();
const confidences = [syntheticConfidence(0), syntheticConfidence(3)];
const modelAlpha = new Uint8Array(MODEL * MODEL);
const smoothed = new Float32Array(MODEL * MODEL);
const alpha = createAlphaPlanes(WIDTH, HEIGHT);
const grey = hexToYuv('c0c0c0');
// Same lookup as the worker's preprocessing.
const tensor = new Float32Array(MODEL * MODEL * 3);
// The landscape model's input (what 'auto' runs on 16:9 frames): 1280x720 to it is exactly 1/5.
const landscapeTensor = new Float32Array(256 * 144 * 3);
confidenceToAlpha(confidences[0], 0.5, 0.15, modelAlpha);

const dir = await mkdtemp(join(tmpdir(), 'composite-bench-'));
const imagePath = join(dir, 'background.png');
await sharp({ create: { width: 1920, height: 1080, channels: 3, background: { r: 30, g: 90, b: 160 } } })
  .composite([{ input: Buffer.from('<svg width="1920" height="1080"><circle cx="900" cy="500" r="300" fill="orange"/></svg>') }])
  .png()
  .toFile(imagePath);
const t0 = performance.now();
const image = await decodeImageBackground(imagePath, WIDTH, HEIGHT);
const imageDecodeMs = performance.now() - t0;
await rm(dir, { recursive: true, force: true });

const rows: [string, Stats][] = [
  ['baseline: native copy of the planes', measure(() => copyFrame(source, frame))],
  ['baseline: one JS pass over all planes', measure(() => invertPlanes(frame))],
  ['preprocess: I420 frame -> float RGB tensor 256x144 (landscape model)', measure(() => i420ToTensor(frame, { width: 256, height: 144, range: [0, 1] }, landscapeTensor))],
  [`preprocess: I420 frame -> float RGB tensor ${MODEL}x${MODEL}`, measure(() => i420ToTensor(frame, { width: MODEL, height: MODEL, range: [0, 1] }, tensor))],
  ['mask: smoothing + matte (256x256)', measure((i) => {
    smoothMask(confidences[i & 1], confidences[(i + 1) & 1], 0.7, smoothed);
    confidenceToAlpha(smoothed, 0.5, 0.15, modelAlpha);
  })],
  ['alpha upsample (luma + chroma)', measure(() => upsampleAlpha(modelAlpha, MODEL, MODEL, WIDTH, HEIGHT, alpha))],
  ['color: upsample + composite', measure(() => {
    copyFrame(source, frame);
    upsampleAlpha(modelAlpha, MODEL, MODEL, WIDTH, HEIGHT, alpha);
    compositeColor(frame, alpha, grey);
  })],
  ['blur r=4: upsample + masked blur + composite', measure(() => {
    copyFrame(source, frame);
    upsampleAlpha(modelAlpha, MODEL, MODEL, WIDTH, HEIGHT, alpha);
    compositeBlur(frame, alpha, 4);
  })],
  ['blur r=16: upsample + masked blur + composite', measure(() => {
    copyFrame(source, frame);
    upsampleAlpha(modelAlpha, MODEL, MODEL, WIDTH, HEIGHT, alpha);
    compositeBlur(frame, alpha, 16);
  })],
  ['blur r=64: upsample + masked blur + composite', measure(() => {
    copyFrame(source, frame);
    upsampleAlpha(modelAlpha, MODEL, MODEL, WIDTH, HEIGHT, alpha);
    compositeBlur(frame, alpha, 64);
  })],
  ['image: upsample + composite (cached planes)', measure(() => {
    copyFrame(source, frame);
    upsampleAlpha(modelAlpha, MODEL, MODEL, WIDTH, HEIGHT, alpha);
    compositePlanes(frame, alpha, image);
  })],
];

const jsPass = rows[1][1].cpuMedian;
console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, node ${process.version}, ${process.platform}/${process.arch}`);
console.log(`frame ${WIDTH}x${HEIGHT}, model ${MODEL}x${MODEL}, ${FRAMES} frames after ${WARMUP} warm-up; image decode (cold, 1920x1080 png): ${imageDecodeMs.toFixed(1)} ms`);
console.log(`load average: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('');
console.log('| case | median ms | p95 ms | CPU median ms | CPU / JS pass |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, st] of rows) {
  console.log(`| ${name} | ${st.median.toFixed(2)} | ${st.p95.toFixed(2)} | ${st.cpuMedian.toFixed(2)} | ${(st.cpuMedian / jsPass).toFixed(2)} |`);
}
