/**
 * RGB -> YUV for plugins that paint (background colours and images, face boxes), BT.601 limited range (Y 16..235, U/V 16..240): the matrix ffmpeg's
 * swscale uses by default for rgb24 -> yuv420p, so ffmpeg converts our output back to the same RGB.
 *
 * Coefficients: Kr = 0.299, Kb = 0.114 (ITU-R BT.601), scaled by 219/255 (luma) and 224/255 (chroma),
 * in 16-bit fixed point for the plane conversion. And the way back, YUV -> RGB for a region
 * (`i420RegionToRgb`), for the frames the server keeps (snapshots) or embeds (faces).
 */

/** A colour in 8-bit limited-range YUV. */
export interface YuvColor {
  y: number;
  u: number;
  v: number;
}

/** I420 planes of one image: y is width*height, u and v are (width/2)*(height/2), stride = plane width. */
export interface YuvPlanes {
  width: number;
  height: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

const KR = 0.299;
const KB = 0.114;
const KG = 1 - KR - KB;
const YS = 219 / 255;
const CS = 224 / 255;

// Float matrix rows (R, G, B weights); offsets 16 and 128 added after.
const YR = KR * YS, YG = KG * YS, YB = KB * YS;
const UR = (-0.5 * KR / (1 - KB)) * CS, UG = (-0.5 * KG / (1 - KB)) * CS, UB = 0.5 * CS;
const VR = 0.5 * CS, VG = (-0.5 * KG / (1 - KR)) * CS, VB = (-0.5 * KB / (1 - KR)) * CS;

// The same matrix in 16-bit fixed point for the plane loop.
const FX = 1 << 16;
const iYR = Math.round(YR * FX), iYG = Math.round(YG * FX), iYB = Math.round(YB * FX);
const iUR = Math.round(UR * FX), iUG = Math.round(UG * FX), iUB = Math.round(UB * FX);
const iVR = Math.round(VR * FX), iVG = Math.round(VG * FX), iVB = Math.round(VB * FX);
const Y_OFFSET = (16 << 16) + (1 << 15);
const C_OFFSET = (128 << 16) + (1 << 15);

/** parseHexColor turns 'rrggbb' (optionally '#'-prefixed, any case) into [r, g, b] 0..255; throws RangeError otherwise. */
export function parseHexColor(hex: string): [number, number, number] {
  const m = /^#?([0-9a-fA-F]{6})$/.exec(hex);
  if (m === null) throw new RangeError(`colour '${hex}' must be 6 hex digits 'rrggbb'`);
  const n = Number.parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function clamp8(x: number): number {
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

/** rgbToYuv converts one 8-bit RGB colour to rounded BT.601 limited-range YUV (c0c0c0 -> 181,128,128). */
export function rgbToYuv(r: number, g: number, b: number): YuvColor {
  return {
    y: clamp8(Math.round(16 + YR * r + YG * g + YB * b)),
    u: clamp8(Math.round(128 + UR * r + UG * g + UB * b)),
    v: clamp8(Math.round(128 + VR * r + VG * g + VB * b)),
  };
}

/** hexToYuv converts 'rrggbb' to BT.601 limited-range YUV; throws RangeError for a malformed colour. */
export function hexToYuv(hex: string): YuvColor {
  const [r, g, b] = parseHexColor(hex);
  return rgbToYuv(r, g, b);
}

/**
 * rgbToI420 converts packed RGB24 (width x height, width and height even) into I420 planes with
 * the BT.601 limited-range matrix; chroma is taken from the mean RGB of each 2x2 block (centred
 * siting, like swscale's default downsampling). Reuses `out` when given and sized right.
 */
export function rgbToI420(rgb: Uint8Array, width: number, height: number, out?: YuvPlanes): YuvPlanes {
  if ((width & 1) !== 0 || (height & 1) !== 0) throw new RangeError(`rgbToI420: ${width}x${height} must be even`);
  if (rgb.length < width * height * 3) throw new RangeError(`rgbToI420: rgb has ${rgb.length} bytes, expected ${width * height * 3}`);
  const cw = width >> 1;
  const ch = height >> 1;
  const planes = out !== undefined && out.width === width && out.height === height
    ? out
    : { width, height, y: new Uint8Array(width * height), u: new Uint8Array(cw * ch), v: new Uint8Array(cw * ch) };
  const { y: py, u: pu, v: pv } = planes;
  for (let i = 0, p = 0, n = width * height; i < n; i++, p += 3) {
    py[i] = (iYR * rgb[p] + iYG * rgb[p + 1] + iYB * rgb[p + 2] + Y_OFFSET) >> 16;
  }
  const stride = width * 3;
  for (let cy = 0; cy < ch; cy++) {
    let p = cy * 2 * stride;
    let c = cy * cw;
    for (let cx = 0; cx < cw; cx++, p += 6, c++) {
      const q = p + stride;
      // Sums of 4 samples; the >> 18 below divides by 4 and removes the fixed-point scale.
      const r = rgb[p] + rgb[p + 3] + rgb[q] + rgb[q + 3];
      const g = rgb[p + 1] + rgb[p + 4] + rgb[q + 1] + rgb[q + 4];
      const b = rgb[p + 2] + rgb[p + 5] + rgb[q + 2] + rgb[q + 5];
      pu[c] = (iUR * r + iUG * g + iUB * b + (C_OFFSET << 2)) >> 18;
      pv[c] = (iVR * r + iVG * g + iVB * b + (C_OFFSET << 2)) >> 18;
    }
  }
  return planes;
}

/**
 * i420RegionToRgb converts `region` (px, inside the image) of I420 planes to packed RGB24, BT.601
 * limited range to full range, clamped (ffmpeg's default for untagged yuv420p). The one YUV -> RGB
 * conversion of the frames the server keeps or embeds: event snapshots, enrolment from a stream,
 * and the faces plugin's recognition chips, so a face enrolled from a stream and seen live is
 * converted the same way.
 */
export function i420RegionToRgb(planes: YuvPlanes, region: { x: number; y: number; width: number; height: number }): Uint8Array {
  const cw = planes.width >> 1;
  const out = new Uint8ClampedArray(region.width * region.height * 3);
  let o = 0;
  for (let row = region.y; row < region.y + region.height; row++) {
    const yRow = row * planes.width;
    const cRow = (row >> 1) * cw;
    for (let col = region.x; col < region.x + region.width; col++) {
      const c = 1.164 * (planes.y[yRow + col]! - 16);
      const u = planes.u[cRow + (col >> 1)]! - 128;
      const v = planes.v[cRow + (col >> 1)]! - 128;
      out[o++] = c + 1.596 * v;
      out[o++] = c - 0.392 * u - 0.813 * v;
      out[o++] = c + 2.017 * u;
    }
  }
  return new Uint8Array(out.buffer);
}
