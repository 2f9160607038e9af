/**
 * Builds a model's input tensor straight from an I420 frame, in the worker thread that runs the
 * model: no scaled copy from ffmpeg, no RGB24 intermediate.
 *
 * Resampling is bilinear with half-pixel centres and 8-bit tap weights (GPU texture sampling, how
 * MediaPipe's ImageToTensor feeds its models; OpenCV `INTER_LINEAR`), aspect ratio not kept.
 * Colour is BT.601 limited-range YUV to full-range RGB (ffmpeg's default for untagged yuv420p),
 * in the usual integer form. Each output pixel reads 4 luma samples and each 2x2 block of output
 * pixels 2x4 chroma samples (chroma is resampled to half the tensor's size), so the cost depends
 * on the tensor size, not the frame size.
 */
import type { YuvFrame } from './plugin-api.ts';

/** TensorSpec is an NHWC float RGB input: size in px and the range RGB 0..255 maps to linearly. */
export interface TensorSpec {
  /** Width in px. */
  width: number;
  /** Height in px. */
  height: number;
  /** Value of RGB 0 and of RGB 255, e.g. [0, 1] (selfie segmentation) or [-1, 1] (BlazeFace). */
  range: readonly [number, number];
}

interface Taps {
  /** First source index per destination index. */
  i0: Int32Array;
  /** Offset from the first to the second source index: 0 (at the last sample) or 1. */
  step: Int32Array;
  /** Weight of the second tap in 1/256 (0..255). */
  w: Int32Array;
}

// Tables depend only on the sizes, never on a stream: one cache per worker thread.
const tapCache = new Map<string, Taps>();
const rangeCache = new Map<string, Float32Array>();

function taps(srcLen: number, dstLen: number): Taps {
  const key = `${srcLen}>${dstLen}`;
  let t = tapCache.get(key);
  if (t !== undefined) return t;
  t = { i0: new Int32Array(dstLen), step: new Int32Array(dstLen), w: new Int32Array(dstLen) };
  const scale = srcLen / dstLen;
  for (let d = 0; d < dstLen; d++) {
    const s = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), srcLen - 1);
    let a = Math.floor(s);
    let w = Math.round((s - a) * 256);
    if (w === 256) { a += 1; w = 0; }
    t.i0[d] = a;
    t.step[d] = a + 1 < srcLen ? 1 : 0;
    t.w[d] = w;
  }
  if (tapCache.size > 32) tapCache.clear();
  tapCache.set(key, t);
  return t;
}

/** Value per RGB level 0..255 for a range, padded so that indexes -512..767 (before clamping) are valid. */
function levels(range: readonly [number, number]): Float32Array {
  const key = `${range[0]},${range[1]}`;
  let table = rangeCache.get(key);
  if (table !== undefined) return table;
  table = new Float32Array(1280);
  const scale = (range[1] - range[0]) / 255;
  for (let i = 0; i < 1280; i++) table[i] = Math.min(255, Math.max(0, i - 512)) * scale + range[0];
  if (rangeCache.size > 8) rangeCache.clear();
  rangeCache.set(key, table);
  return table;
}

/**
 * bilinear samples `plane` between rows starting at r0 and r1 and columns x0 and x1 with tap weights
 * wx, wy in 1/256 (of the second tap): computed in 1/65536 units, rounded back to 8 bits.
 * Math.imul keeps every product an int32: a plain `*` gives -0 for a negative difference times a
 * zero weight, and V8 then runs the whole function in doubles (about 1.4x slower here).
 */
function bilinear(plane: Uint8Array, r0: number, r1: number, x0: number, x1: number, wx: number, wy: number): number {
  const a = plane[r0 + x0];
  const c = plane[r1 + x0];
  const top = (a << 8) + Math.imul(plane[r0 + x1] - a, wx);
  const bottom = (c << 8) + Math.imul(plane[r1 + x1] - c, wx);
  return ((top << 8) + Math.imul(bottom - top, wy) + 32768) >> 16;
}

/**
 * i420ToTensor scales `frame` to `spec` and returns float32 NHWC RGB, `[1, height, width, 3]` flat
 * (`width * height * 3` values in `spec.range`), written into `out` when it has that length.
 * A tensor larger than the frame (tiny test frames) is upsampled the same way.
 * @throws RangeError when the size is not positive integers.
 */
export function i420ToTensor(frame: YuvFrame, spec: TensorSpec, out?: Float32Array): Float32Array {
  const { width: dw, height: dh } = spec;
  if (!(Number.isInteger(dw) && Number.isInteger(dh) && dw > 0 && dh > 0)) throw new RangeError(`tensor size ${dw}x${dh} must be positive integers`);
  const tensor = out !== undefined && out.length === dw * dh * 3 ? out : new Float32Array(dw * dh * 3);
  const value = levels(spec.range);
  const W = frame.width;
  const CW = W >> 1;
  const lx = taps(W, dw);
  const ly = taps(frame.height, dh);
  // Chroma is resampled to half the tensor's size and each sample serves a 2x2 block of pixels
  // (4:2:0 again, at the tensor's scale): a quarter of the chroma work, invisible to the model.
  const cx = taps(CW, (dw + 1) >> 1);
  const cy = taps(frame.height >> 1, (dh + 1) >> 1);
  const { y: Y, u: U, v: V } = frame;
  // Where a tap falls on a sample (both weights 0), it is that sample: at an integer ratio (1280x720
  // to 256x144 is exactly 5) every tap does, and one read replaces four.
  for (let j = 0; j < dh; j++) {
    const yr0 = ly.i0[j] * W;
    const yr1 = yr0 + ly.step[j] * W;
    const wy = ly.w[j];
    const cj = j >> 1;
    const cr0 = cy.i0[cj] * CW;
    const cr1 = cr0 + cy.step[cj] * CW;
    const wcy = cy.w[cj];
    let o = j * dw * 3;
    for (let ci = 0, i = 0; i < dw; ci++) {
      const c0 = cx.i0[ci];
      const c1 = c0 + cx.step[ci];
      const wcx = cx.w[ci];
      const onSample = wcx === 0 && wcy === 0;
      const d = (onSample ? U[cr0 + c0] : bilinear(U, cr0, cr1, c0, c1, wcx, wcy)) - 128;
      const e = (onSample ? V[cr0 + c0] : bilinear(V, cr0, cr1, c0, c1, wcx, wcy)) - 128;
      // R, G, B = (298 C + 409 E), (298 C - 100 D - 208 E), (298 C + 516 D), + 128 >> 8; offset by 512
      // into the level table, which clamps to 0..255 (the sums stay within -512..767).
      const re = 409 * e;
      const ge = -100 * d - 208 * e;
      const be = 516 * d;
      for (const end = Math.min(i + 2, dw); i < end; i++) {
        const x0 = lx.i0[i];
        const x1 = x0 + lx.step[i];
        const wx = lx.w[i];
        const c = (wx === 0 && wy === 0 ? Y[yr0 + x0] : bilinear(Y, yr0, yr1, x0, x1, wx, wy)) - 16;
        const l = 298 * c + 128 + (512 << 8);
        tensor[o] = value[(l + re) >> 8];
        tensor[o + 1] = value[(l + ge) >> 8];
        tensor[o + 2] = value[(l + be) >> 8];
        o += 3;
      }
    }
  }
  return tensor;
}
