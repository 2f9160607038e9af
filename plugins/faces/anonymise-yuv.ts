/**
 * Drawing over faces in an I420 frame, in place: solid fill, mosaic, blur and an outline with the
 * score. Each works on the covered region's pixels only (face-regions.ts), on the luma plane and
 * on both chroma planes at half resolution, so no colour of the face is left either.
 *
 * Strength scales with the face: the blur has a sigma of `strength` x the face box width (three
 * box-filter passes, a close Gaussian, whose cost does not grow with the radius), the mosaic
 * `blocks` blocks across the face box. Measured with BlazeFace on 40-70 px faces (issue #18,
 * plugins/faces/README.md): it stops finding faces at a sigma of about 0.3 x the face width, but
 * still finds some through a plain mosaic of even 2 blocks across (the head's outline around a
 * flat patch is enough), so the plugin's 'pixelate' draws its mosaic over the blurred face.
 */
import { glyphCells, GLYPH_HEIGHT, GLYPH_WIDTH } from './bitmap-font.ts';
import type { YuvFrame } from '../plugin-api.ts';
import type { YuvColor } from '../yuv-color.ts';
import { rowSpan, type CoverRegion } from './face-regions.ts';

interface PlaneView {
  data: Uint8Array;
  stride: number;
  /** 1 for luma, 2 for chroma (px per sample, horizontally and vertically). */
  sub: number;
}

function planes(frame: YuvFrame): PlaneView[] {
  return [
    { data: frame.y, stride: frame.width, sub: 1 },
    { data: frame.u, stride: frame.width >> 1, sub: 2 },
    { data: frame.v, stride: frame.width >> 1, sub: 2 },
  ];
}

/** fillRegion paints the region with `color` (limited-range YUV). */
export function fillRegion(frame: YuvFrame, region: CoverRegion, color: YuvColor): void {
  const values = [color.y, color.u, color.v];
  planes(frame).forEach((p, i) => {
    for (let y = region.y0 / p.sub; y < region.y1 / p.sub; y++) {
      const [a, b] = rowSpan(region, y, p.sub);
      if (b > a) p.data.fill(values[i]!, y * p.stride + a, y * p.stride + b);
    }
  });
}

/**
 * pixelateRegion replaces the region by a mosaic: blocks of ceil(faceWidth / blocks) luma px (at
 * least 2, even), on a grid centred on the region; every block the region's shape touches is
 * painted whole with the mean of its pixels (clipped to the frame), so the covered area has the
 * mosaic's square edges rather than the face's outline.
 */
export function pixelateRegion(frame: YuvFrame, region: CoverRegion, blocks: number): void {
  const block = Math.max(2, Math.ceil(region.faceWidth / blocks / 2) * 2);
  for (const p of planes(frame)) {
    const size = block / p.sub;
    const pw = p.stride;
    const ph = p.data.length / p.stride;
    const x0 = region.x0 / p.sub, x1 = region.x1 / p.sub, y0 = region.y0 / p.sub, y1 = region.y1 / p.sub;
    const gx = centredGridStart(x0, x1, size);
    const gy = centredGridStart(y0, y1, size);
    for (let by = gy; by < y1; by += size) {
      const sy = Math.max(0, by), ey = Math.min(ph, by + size);
      for (let bx = gx; bx < x1; bx += size) {
        const sx = Math.max(0, bx), ex = Math.min(pw, bx + size);
        // painted when any row of the block has covered pixels within the block's columns
        let touched = false;
        for (let y = Math.max(sy, y0); y < Math.min(ey, y1) && !touched; y++) {
          const [a, b] = rowSpan(region, y, p.sub);
          touched = Math.max(a, sx) < Math.min(b, ex);
        }
        if (!touched) continue;
        let sum = 0;
        for (let y = sy; y < ey; y++) for (let x = sx; x < ex; x++) sum += p.data[y * pw + x]!;
        const mean = Math.round(sum / ((ey - sy) * (ex - sx)));
        for (let y = sy; y < ey; y++) p.data.fill(mean, y * pw + sx, y * pw + ex);
      }
    }
  }
}

/** centredGridStart is where a grid of `size` cells centred on [start, end) begins (at or before start). */
function centredGridStart(start: number, end: number, size: number): number {
  const centre = (start + end) / 2;
  return Math.floor(centre - Math.ceil((centre - start) / size) * size);
}

/**
 * blurRegion blurs the region with a sigma of `strength` x faceWidth luma px (half that on the
 * chroma planes): three passes of a box filter each way over the region's rectangle, edges
 * clamped (no pixel outside the region is read), written back inside the region's shape.
 */
export function blurRegion(frame: YuvFrame, region: CoverRegion, strength: number): void {
  for (const p of planes(frame)) {
    const x0 = region.x0 / p.sub, x1 = region.x1 / p.sub, y0 = region.y0 / p.sub, y1 = region.y1 / p.sub;
    const w = x1 - x0, h = y1 - y0;
    const sigma = (strength * region.faceWidth) / p.sub;
    // n box passes of width 2r + 1 have variance n ((2r + 1)^2 - 1) / 12
    const r = Math.max(1, Math.round((Math.sqrt((12 * sigma * sigma) / 3 + 1) - 1) / 2));
    const a = new Float32Array(w * h);
    const b = new Float32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) a[y * w + x] = p.data[(y0 + y) * p.stride + x0 + x]!;
    for (let pass = 0; pass < 3; pass++) {
      boxPass(a, b, w, h, r, 1, w); // rows: a -> b
      boxPass(b, a, h, w, r, w, 1); // columns: b -> a
    }
    for (let y = y0; y < y1; y++) {
      const [s, e] = rowSpan(region, y, p.sub);
      for (let x = s; x < e; x++) p.data[y * p.stride + x] = Math.round(a[(y - y0) * w + x - x0]!);
    }
  }
}

/**
 * boxPass filters `lines` lines of `length` samples (sample step `step`, line step `lineStep`)
 * from `src` into `dst` with a running mean of 2r + 1 samples, indexes clamped to the line.
 */
function boxPass(src: Float32Array, dst: Float32Array, length: number, lines: number, r: number, step: number, lineStep: number): void {
  const norm = 1 / (2 * r + 1);
  const last = length - 1;
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    let sum = 0;
    for (let i = -r; i <= r; i++) sum += src[base + Math.min(last, Math.max(0, i)) * step]!;
    for (let i = 0; i < length; i++) {
      dst[base + i * step] = sum * norm;
      sum += src[base + Math.min(last, i + r + 1) * step]! - src[base + Math.max(0, i - r) * step]!;
    }
  }
}

/**
 * markBox draws the outline of the box (x, y, width, height, px) in `color`, `thickness` px
 * (rounded to even), and `label` (bitmap-font.ts: letters, digits, space, `. - _ ' ?`) above it,
 * on a dark backing so it reads on any picture, clipped to the frame. Labels are cut at 24 characters.
 */
export function markBox(frame: YuvFrame, box: { x: number; y: number; width: number; height: number }, color: YuvColor, label: string): void {
  const t = Math.max(2, Math.round(box.width / 40) & ~1);
  const x0 = Math.round(box.x) & ~1, y0 = Math.round(box.y) & ~1;
  const x1 = (Math.round(box.x + box.width) + 1) & ~1, y1 = (Math.round(box.y + box.height) + 1) & ~1;
  const rect = (ax: number, ay: number, bx: number, by: number) => paintRect(frame, ax, ay, bx, by, color);
  rect(x0, y0, x1, y0 + t);
  rect(x0, y1 - t, x1, y1);
  rect(x0, y0, x0 + t, y1);
  rect(x1 - t, y0, x1, y1);
  const cell = Math.max(2, t);
  const text = label.slice(0, 24);
  if (text.length === 0) return;
  const gy = y0 - (GLYPH_HEIGHT + 2) * cell >= 0 ? y0 - (GLYPH_HEIGHT + 2) * cell : y1 + cell;
  const backing = { y: 16, u: 128, v: 128 };
  paintRect(frame, x0, gy - cell, x0 + (text.length * (GLYPH_WIDTH + 1) + 1) * cell, gy + (GLYPH_HEIGHT + 1) * cell, backing);
  for (const [col, row] of glyphCells(text)) {
    const gx = x0 + (col + 1) * cell;
    rect(gx, gy + row * cell, gx + cell, gy + (row + 1) * cell);
  }
}

/** paintRect fills [ax, bx) x [ay, by) (luma px, even bounds) with `color`, clipped to the frame. */
function paintRect(frame: YuvFrame, ax: number, ay: number, bx: number, by: number, color: YuvColor): void {
  const x0 = Math.max(0, ax & ~1), y0 = Math.max(0, ay & ~1);
  const x1 = Math.min(frame.width, bx & ~1), y1 = Math.min(frame.height, by & ~1);
  if (x1 <= x0 || y1 <= y0) return;
  const values = [color.y, color.u, color.v];
  planes(frame).forEach((p, i) => {
    for (let y = y0 / p.sub; y < y1 / p.sub; y++) p.data.fill(values[i]!, y * p.stride + x0 / p.sub, y * p.stride + x1 / p.sub);
  });
}
