/**
 * Alpha compositing of a frame's 8-bit planes over a background, in place, integer math only:
 * out = bg + ((fg - bg) * a + 127) / 255 (a = 0..255 matte, 255 = keep the frame pixel),
 * computed as floor((fg * a + bg * (255 - a) + 127) / 255), which is the same rounding.
 * Row runs of the matte let flat background spans be filled natively and person spans be skipped.
 */
import type { YuvFrame } from '../plugin-api.ts';
import { RUN_BACKGROUND, RUN_PERSON, type MatteRuns } from './matte-runs.ts';
import type { AlphaPlanes } from './upsample-alpha.ts';
import type { YuvColor, YuvPlanes } from '../yuv-color.ts';

// The worker thread loads this module as CommonJS (tsx's require hook), where every use of an
// imported binding is a getter call: hot loops read these module-local copies instead.
const BACKGROUND_RUN = RUN_BACKGROUND;
const PERSON_RUN = RUN_PERSON;

/** blend returns round((fg * a + bg * (255 - a)) / 255) for 8-bit fg, bg and a (exact floor division by 255). */
export function blend(fg: number, bg: number, a: number): number {
  const x = fg * a + bg * (255 - a) + 127;
  return (x + 1 + (x >> 8)) >> 8;
}

/** blendSpanWithValue blends plane[start..end) toward the constant `value` by alpha[start..end). */
export function blendSpanWithValue(plane: Uint8Array, alpha: Uint8Array, value: number, start: number, end: number): void {
  const bg = value | 0;
  // fg * a + bg * (255 - a) + 127 with one multiply; no branches for a = 0 or 255, which the exact
  // division below already maps to bg and fg (edge spans are mostly neither, so branches mispredict).
  const bias = bg * 255 + 127;
  for (let i = start; i < end; i++) {
    // Exact floor(x / 255) for 0 <= x < 65535.
    const x = bias + (plane[i] - bg) * alpha[i];
    plane[i] = (x + 1 + (x >> 8)) >> 8;
  }
}

/** blendSpanWithPlane blends plane[start..end) toward background[start..end) by alpha[start..end). */
export function blendSpanWithPlane(plane: Uint8Array, alpha: Uint8Array, background: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const a = alpha[i];
    if (a === 255) continue;
    const bg = background[i];
    if (a === 0) { plane[i] = bg; continue; }
    const x = plane[i] * a + bg * (255 - a) + 127;
    plane[i] = (x + 1 + (x >> 8)) >> 8;
  }
}

/** blendPlaneWithValue blends a width-wide `plane` toward `value` following the matte `alpha` and its `runs`; returns `plane`. */
export function blendPlaneWithValue(plane: Uint8Array, alpha: Uint8Array, runs: MatteRuns, width: number, value: number): Uint8Array {
  const { rowStart, data } = runs;
  for (let y = 0; y < runs.height; y++) {
    const o = y * width;
    for (let k = rowStart[y] * 3, e = rowStart[y + 1] * 3; k < e; k += 3) {
      const kind = data[k + 2];
      if (kind === PERSON_RUN) continue;
      if (kind === BACKGROUND_RUN) plane.fill(value, o + data[k], o + data[k + 1]);
      else blendSpanWithValue(plane, alpha, value, o + data[k], o + data[k + 1]);
    }
  }
  return plane;
}

/** blendPlaneWithPlane blends a width-wide `plane` toward `background` (same size) following `alpha` and its `runs`; returns `plane`. */
export function blendPlaneWithPlane(plane: Uint8Array, alpha: Uint8Array, runs: MatteRuns, width: number, background: Uint8Array): Uint8Array {
  const { rowStart, data } = runs;
  for (let y = 0; y < runs.height; y++) {
    const o = y * width;
    for (let k = rowStart[y] * 3, e = rowStart[y + 1] * 3; k < e; k += 3) {
      const kind = data[k + 2];
      if (kind === PERSON_RUN) continue;
      const start = o + data[k];
      const end = o + data[k + 1];
      if (kind === BACKGROUND_RUN) plane.set(background.subarray(start, end), start);
      else blendSpanWithPlane(plane, alpha, background, start, end);
    }
  }
  return plane;
}

/** compositeColor replaces the frame's background (alpha 0) with a constant YUV colour, in place. */
export function compositeColor(frame: YuvFrame, alpha: AlphaPlanes, color: YuvColor): void {
  const cw = frame.width >> 1;
  blendPlaneWithValue(frame.y, alpha.y, alpha.yRuns, frame.width, color.y);
  blendPlaneWithValue(frame.u, alpha.c, alpha.cRuns, cw, color.u);
  blendPlaneWithValue(frame.v, alpha.c, alpha.cRuns, cw, color.v);
}

/** compositePlanes replaces the frame's background with I420 background planes of the frame's size, in place; throws RangeError on a size mismatch. */
export function compositePlanes(frame: YuvFrame, alpha: AlphaPlanes, background: YuvPlanes): void {
  if (background.width !== frame.width || background.height !== frame.height) {
    throw new RangeError(`background is ${background.width}x${background.height}, frame is ${frame.width}x${frame.height}`);
  }
  const cw = frame.width >> 1;
  blendPlaneWithPlane(frame.y, alpha.y, alpha.yRuns, frame.width, background.y);
  blendPlaneWithPlane(frame.u, alpha.c, alpha.cRuns, cw, background.u);
  blendPlaneWithPlane(frame.v, alpha.c, alpha.cRuns, cw, background.v);
}
