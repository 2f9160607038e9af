/**
 * Alpha compositing of a frame's 8-bit planes over a background, in place, integer math only:
 * out = bg + ((fg - bg) * a + 127) / 255 (a = 0..255 matte, 255 = keep the frame pixel),
 * computed as floor((fg * a + bg * (255 - a) + 127) / 255), which is the same rounding.
 */
import type { YuvFrame } from '../plugin-api.ts';
import type { AlphaPlanes } from './upsample-alpha.ts';
import type { YuvColor, YuvPlanes } from './yuv-color.ts';

/**
 * blendPlaneWithValue blends `plane` toward the constant `value` where `alpha` < 255 (first `length`
 * samples, plane and alpha share the stride) and returns `plane`.
 */
export function blendPlaneWithValue(plane: Uint8Array, alpha: Uint8Array, value: number, length = plane.length): Uint8Array {
  const bg = value | 0;
  for (let i = 0; i < length; i++) {
    const a = alpha[i];
    if (a === 255) continue;
    if (a === 0) { plane[i] = bg; continue; }
    const x = plane[i] * a + bg * (255 - a) + 127;
    // Exact floor(x / 255) for 0 <= x < 65536.
    plane[i] = (x + 1 + (x >> 8)) >> 8;
  }
  return plane;
}

/** blendPlaneWithPlane blends `plane` toward `background` (same size and stride) where `alpha` < 255; returns `plane`. */
export function blendPlaneWithPlane(plane: Uint8Array, alpha: Uint8Array, background: Uint8Array, length = plane.length): Uint8Array {
  for (let i = 0; i < length; i++) {
    const a = alpha[i];
    if (a === 255) continue;
    const bg = background[i];
    if (a === 0) { plane[i] = bg; continue; }
    const x = plane[i] * a + bg * (255 - a) + 127;
    plane[i] = (x + 1 + (x >> 8)) >> 8;
  }
  return plane;
}

/** compositeColor replaces the frame's background (alpha 0) with a constant YUV colour, in place. */
export function compositeColor(frame: YuvFrame, alpha: AlphaPlanes, color: YuvColor): void {
  const lumaLength = frame.width * frame.height;
  const chromaLength = (frame.width >> 1) * (frame.height >> 1);
  blendPlaneWithValue(frame.y, alpha.y, color.y, lumaLength);
  blendPlaneWithValue(frame.u, alpha.c, color.u, chromaLength);
  blendPlaneWithValue(frame.v, alpha.c, color.v, chromaLength);
}

/** compositePlanes replaces the frame's background with I420 background planes of the frame's size, in place. */
export function compositePlanes(frame: YuvFrame, alpha: AlphaPlanes, background: YuvPlanes): void {
  if (background.width !== frame.width || background.height !== frame.height) {
    throw new RangeError(`background is ${background.width}x${background.height}, frame is ${frame.width}x${frame.height}`);
  }
  const lumaLength = frame.width * frame.height;
  const chromaLength = (frame.width >> 1) * (frame.height >> 1);
  blendPlaneWithPlane(frame.y, alpha.y, background.y, lumaLength);
  blendPlaneWithPlane(frame.u, alpha.c, background.u, chromaLength);
  blendPlaneWithPlane(frame.v, alpha.c, background.v, chromaLength);
}
