/**
 * The face detector's input, built straight from the I420 frame: a region of the frame (the whole
 * frame or a tile) fitted into the model's square input with its aspect ratio kept (letterbox),
 * centred, bilinear, RGB mapped to [-1, 1], padding black (-1), as MediaPipe's
 * ImageToTensorCalculator does for BlazeFace (keep_aspect_ratio, BORDER_ZERO before normalising).
 * Colour: BT.601 limited-range YUV to full-range RGB, as plugins/frame-tensor.ts.
 */
import type { YuvFrame } from '../plugin-api.ts';
import type { Letterbox } from '../../models/face/letterbox-input.ts';

/** FrameRegion is a rectangle of the frame in px (x, y: top-left; inside the frame). */
export interface FrameRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Per-size scratch tensors: a worker runs one detector pass at a time per call, and the tensor is consumed by run() before the next pass. */
const tensors = new Map<number, Float32Array>();

function scratch(length: number): Float32Array {
  let t = tensors.get(length);
  if (t === undefined) {
    if (tensors.size >= 4) tensors.clear();
    tensors.set(length, (t = new Float32Array(length)));
  }
  return t;
}

/**
 * regionToLetterboxTensor samples `region` of `frame` into a `size` x `size` NHWC float32 RGB
 * tensor (`[1, size, size, 3]` flat, values in [-1, 1], padding -1) and returns it with the
 * letterbox that maps model coordinates back to the region (models/face/letterbox-input.ts).
 * The tensor is a per-worker scratch buffer: valid until the next call with the same size.
 * @throws RangeError when the region is empty or outside the frame.
 */
export function regionToLetterboxTensor(frame: YuvFrame, region: FrameRegion, size: number): { tensor: Float32Array; letterbox: Letterbox } {
  const { x: rx, y: ry, width: rw, height: rh } = region;
  if (!(rw > 0 && rh > 0 && rx >= 0 && ry >= 0 && rx + rw <= frame.width && ry + rh <= frame.height)) {
    throw new RangeError(`face region ${rw}x${rh}+${rx}+${ry} is not inside the ${frame.width}x${frame.height} frame`);
  }
  const scale = Math.min(size / rw, size / rh);
  const padX = (size - rw * scale) / 2;
  const padY = (size - rh * scale) / 2;
  const tensor = scratch(size * size * 3);
  tensor.fill(-1);
  const W = frame.width;
  const CW = W >> 1;
  const CH = frame.height >> 1;
  // Column taps, shared by every row: luma index pair and weight, chroma the same at half resolution.
  const valid = new Uint8Array(size);
  const lx0 = new Int32Array(size), lx1 = new Int32Array(size), lfx = new Float32Array(size);
  const cx0 = new Int32Array(size), cx1 = new Int32Array(size), cfx = new Float32Array(size);
  for (let ox = 0; ox < size; ox++) {
    const sx = (ox + 0.5 - padX) / scale - 0.5;
    if (sx < -0.5 || sx > rw - 0.5) continue;
    valid[ox] = 1;
    const fx = rx + Math.min(Math.max(sx, 0), rw - 1);
    lx0[ox] = Math.floor(fx);
    lx1[ox] = Math.min(lx0[ox]! + 1, W - 1);
    lfx[ox] = fx - lx0[ox]!;
    const c = Math.min(Math.max((fx + 0.5) / 2 - 0.5, 0), CW - 1);
    cx0[ox] = Math.floor(c);
    cx1[ox] = Math.min(cx0[ox]! + 1, CW - 1);
    cfx[ox] = c - cx0[ox]!;
  }
  const { y: Y, u: U, v: V } = frame;
  const k = 2 / 255;
  for (let oy = 0; oy < size; oy++) {
    const sy = (oy + 0.5 - padY) / scale - 0.5;
    if (sy < -0.5 || sy > rh - 0.5) continue;
    const fy = ry + Math.min(Math.max(sy, 0), rh - 1);
    const y0 = Math.floor(fy);
    const r0 = y0 * W;
    const r1 = Math.min(y0 + 1, frame.height - 1) * W;
    const wy = fy - y0;
    const c = Math.min(Math.max((fy + 0.5) / 2 - 0.5, 0), CH - 1);
    const cy0 = Math.floor(c);
    const c0 = cy0 * CW;
    const c1 = Math.min(cy0 + 1, CH - 1) * CW;
    const wcy = c - cy0;
    for (let ox = 0; ox < size; ox++) {
      if (valid[ox] === 0) continue;
      const a = lx0[ox]!, b = lx1[ox]!, wx = lfx[ox]!;
      const top = Y[r0 + a]! + (Y[r0 + b]! - Y[r0 + a]!) * wx;
      const bottom = Y[r1 + a]! + (Y[r1 + b]! - Y[r1 + a]!) * wx;
      const luma = 1.164383 * (top + (bottom - top) * wy - 16);
      const p = cx0[ox]!, q = cx1[ox]!, wcx = cfx[ox]!;
      const ut = U[c0 + p]! + (U[c0 + q]! - U[c0 + p]!) * wcx;
      const ub = U[c1 + p]! + (U[c1 + q]! - U[c1 + p]!) * wcx;
      const vt = V[c0 + p]! + (V[c0 + q]! - V[c0 + p]!) * wcx;
      const vb = V[c1 + p]! + (V[c1 + q]! - V[c1 + p]!) * wcx;
      const d = ut + (ub - ut) * wcy - 128;
      const e = vt + (vb - vt) * wcy - 128;
      const o = (oy * size + ox) * 3;
      tensor[o] = clamp255(luma + 1.596027 * e) * k - 1;
      tensor[o + 1] = clamp255(luma - 0.391762 * d - 0.812968 * e) * k - 1;
      tensor[o + 2] = clamp255(luma + 2.017232 * d) * k - 1;
    }
  }
  return { tensor, letterbox: { scale, padX, padY, size } };
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
