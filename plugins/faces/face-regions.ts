/**
 * Where a face is covered: the tracked box (united with the detector's own box on frames where it
 * saw the face), grown by the margin (half again upwards, for forehead and hair), grown further
 * while the face is only predicted (the longer since its last detection, the less sure its place),
 * as a rectangle or an ellipse through the face box's corners. Regions are in luma px with even
 * bounds, so the chroma planes cover exactly the same area.
 */
import type { FaceTrack } from './face-tracker.ts';

/** CoverRegion is one face's covered area: a bounding rectangle (x0, y0 inclusive, x1, y1 exclusive, even, inside the frame) and its shape. */
export interface CoverRegion {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Ellipse centre and semi-axes, px; the region is the ellipse's pixels inside the rectangle (null: the whole rectangle). */
  ellipse: { cx: number; cy: number; ax: number; ay: number } | null;
  /** Width of the face box, px: the scale of the blur and the mosaic. */
  faceWidth: number;
}

/** Extra growth per frame since the last detection (fraction of the face size), up to PREDICTED_GROWTH_MAX. */
const PREDICTED_GROWTH_PER_FRAME = 0.04;
const PREDICTED_GROWTH_MAX = 0.5;
/** The ellipse reaches at least this far from the centre, as a share of the face box's half size (through its corners: sqrt 2). */
const ELLIPSE_MIN_REACH = Math.SQRT2;

/**
 * coverRegion returns the area to cover for `track` on frame `frameIndex` of a width x height
 * frame, or null when it lies outside the frame.
 * @param margin fraction of the face size added on each side (1.5x upwards)
 */
export function coverRegion(track: Pick<FaceTrack, 'box' | 'measured' | 'lastDetectedIndex'>, frameIndex: number, width: number, height: number, margin: number, shape: 'ellipse' | 'rect'): CoverRegion | null {
  const { cx, cy, w, h } = track.box;
  let left = cx - w / 2, top = cy - h / 2, right = cx + w / 2, bottom = cy + h / 2;
  if (track.measured !== null) {
    left = Math.min(left, track.measured.x);
    top = Math.min(top, track.measured.y);
    right = Math.max(right, track.measured.x + track.measured.width);
    bottom = Math.max(bottom, track.measured.y + track.measured.height);
  }
  const since = Math.max(0, frameIndex - track.lastDetectedIndex);
  const grow = margin + Math.min(PREDICTED_GROWTH_MAX, since * PREDICTED_GROWTH_PER_FRAME);
  const bw = right - left;
  const bh = bottom - top;
  const faceTop = top;
  const faceBottom = bottom;
  left -= grow * bw;
  right += grow * bw;
  top -= 1.5 * grow * bh;
  bottom += grow * bh;
  let ellipse: CoverRegion['ellipse'] = null;
  if (shape === 'ellipse') {
    const ex = (left + right) / 2;
    const ey = (top + bottom) / 2;
    // Inscribed in the grown box, and at least through the face box's corners: with both reaches
    // at sqrt(2) x the corner's offset, the corner lies on or inside the ellipse.
    const cornerY = Math.max(ey - faceTop, faceBottom - ey);
    const ax = Math.max((right - left) / 2, (bw / 2) * ELLIPSE_MIN_REACH);
    const ay = Math.max((bottom - top) / 2, cornerY * ELLIPSE_MIN_REACH);
    ellipse = { cx: ex, cy: ey, ax, ay };
    left = ex - ax; right = ex + ax; top = ey - ay; bottom = ey + ay;
  }
  const x0 = clampEven(Math.floor(left), width);
  const y0 = clampEven(Math.floor(top), height);
  const x1 = clampEven(Math.ceil(right) + 1, width);
  const y1 = clampEven(Math.ceil(bottom) + 1, height);
  if (x1 <= x0 || y1 <= y0) return null;
  return { x0, y0, x1, y1, ellipse, faceWidth: bw };
}

function clampEven(v: number, limit: number): number {
  return Math.min(limit, Math.max(0, v & ~1));
}

/**
 * rowSpan returns the covered columns [start, end) of row `y` of a plane sampled `sub` times
 * coarser than luma (1 luma, 2 chroma), in that plane's px; end <= start when the row is empty.
 */
export function rowSpan(region: CoverRegion, y: number, sub: number): [number, number] {
  const x0 = region.x0 / sub;
  const x1 = region.x1 / sub;
  const e = region.ellipse;
  if (e === null) return [x0, x1];
  const dy = ((y + 0.5) * sub - e.cy) / e.ay;
  if (dy <= -1 || dy >= 1) return [0, 0];
  const half = e.ax * Math.sqrt(1 - dy * dy);
  return [Math.max(x0, Math.floor((e.cx - half) / sub)), Math.min(x1, Math.ceil((e.cx + half) / sub))];
}
