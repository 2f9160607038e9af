// Tiling so that the full-range detector finds faces down to 1/20 of a 1080p frame's height (issue #18):
// the whole frame letterboxed to 192 px loses small faces, so 'auto' adds overlapping square tiles, each
// letterboxed to the model input on its own, and merges the detections in frame px.
import { nonMaxSuppression, type FaceDetection } from './decode.ts';
import type { FaceModelName, FaceModelSpec } from './face-models.ts';
import { detectionToImagePx, type Letterbox } from './letterbox-input.ts';

/** FaceTileMode: 'off' runs the model once on the whole frame; 'auto' adds tiles when the whole-frame pass can not reach FACE_TILE_TARGET_FRACTION. */
export type FaceTileMode = 'off' | 'auto';

/** FaceTile is one region of the frame in px (integer x, y = top-left, width, height) that is letterboxed to the model input on its own; `whole` marks the whole-frame pass. */
export interface FaceTile {
  x: number;
  y: number;
  width: number;
  height: number;
  whole: boolean;
}

/** FACE_TILE_TARGET_FRACTION is the smallest face height, as a fraction of the frame height, that 'auto' tiling aims to find (1/20, issue #18). */
export const FACE_TILE_TARGET_FRACTION = 1 / 20;

/** MIN_FACE_INPUT_FRACTION is the smallest face height, as a fraction of the model input side, that each model finds reliably: short 20/128, full 16/192 (measured on head-pose and face-demographics frames scaled into the input, see models/README.md; detections start at 14 and 10-12 px). */
export const MIN_FACE_INPUT_FRACTION: Readonly<Record<FaceModelName, number>> = { short: 20 / 128, full: 16 / 192 };

/** TILE_OVERLAP_MARGIN is how much larger than the whole-frame pass's smallest face the overlap between tiles is (1.25), so that every face too small for the whole-frame pass lies entirely inside some tile. */
export const TILE_OVERLAP_MARGIN = 1.25;

/** TILE_EDGE_FRACTION: a tile detection whose box comes within this fraction of the tile side (0.02) of an edge shared with another tile is a cut face and is dropped; the neighbouring tile or the whole-frame pass sees it whole. */
export const TILE_EDGE_FRACTION = 0.02;

/** planFaceTiles returns the regions (frame px) to run `spec`'s model on: always the whole frame first, then for 'auto', when the whole frame letterboxed to spec.inputSize can not reach faces of FACE_TILE_TARGET_FRACTION x frameHeight, a grid of square tiles (side = target face / MIN_FACE_INPUT_FRACTION x input, at least the input side, at most the frame) overlapping by TILE_OVERLAP_MARGIN x the whole-frame pass's smallest face (at most half a tile), spread evenly edge to edge, at most MAX_FACE_TILES of them; throws on non-positive sizes. */
export function planFaceTiles(frameWidth: number, frameHeight: number, spec: FaceModelSpec, mode: FaceTileMode): FaceTile[] {
  if (!(frameWidth > 0 && frameHeight > 0)) throw new Error(`frame size must be positive, got ${frameWidth}x${frameHeight}`);
  const whole: FaceTile = { x: 0, y: 0, width: frameWidth, height: frameHeight, whole: true };
  if (mode === 'off') return [whole];
  const minFaceInput = MIN_FACE_INPUT_FRACTION[spec.name] * spec.inputSize;
  const longSide = Math.max(frameWidth, frameHeight);
  const wholeMinFacePx = (minFaceInput * longSide) / spec.inputSize;
  const targetFacePx = frameHeight * FACE_TILE_TARGET_FRACTION;
  if (wholeMinFacePx <= targetFacePx) return [whole];
  let side = Math.max(spec.inputSize, Math.floor((targetFacePx * spec.inputSize) / minFaceInput));
  for (;;) {
    if (side >= longSide) return [whole];
    const overlap = Math.min(Math.ceil(wholeMinFacePx * TILE_OVERLAP_MARGIN), Math.floor(side / 2));
    const tileW = Math.min(side, frameWidth);
    const tileH = Math.min(side, frameHeight);
    const xs = tileStarts(frameWidth, tileW, overlap);
    const ys = tileStarts(frameHeight, tileH, overlap);
    if (xs.length * ys.length <= MAX_FACE_TILES) return [whole, ...ys.flatMap((y) => xs.map((x) => ({ x, y, width: tileW, height: tileH, whole: false })))];
    side = Math.ceil(side * 1.1);
  }
}

/** MAX_FACE_TILES caps the tiles of one plan (16, besides the whole frame): when the target needs more, tiles grow by 10% steps until they fit and the smallest face found is larger than the target (short range at 1080p). */
export const MAX_FACE_TILES = 16;

function tileStarts(length: number, tile: number, overlap: number): number[] {
  if (tile >= length) return [0];
  const count = Math.ceil((length - overlap) / (tile - overlap));
  return Array.from({ length: count }, (_, i) => Math.round((i * (length - tile)) / (count - 1)));
}

/** TileDetections are one region's decoded detections (normalised model-input coordinates) with the letterbox that fitted the region into the input. */
export interface TileDetections {
  tile: FaceTile;
  letterbox: Letterbox;
  detections: FaceDetection[];
}

/** mergeTileDetections maps every region's detections to frame px (through its letterbox, then its offset), drops tile detections cut by an edge shared with another tile (TILE_EDGE_FRACTION), and, when there is more than one region, suppresses duplicates across regions with `nms` (default 'weighted') at `iouThreshold` (default 0.3, MediaPipe's); returns frame-px detections sorted by score. */
export function mergeTileDetections(
  regions: readonly TileDetections[],
  frameWidth: number,
  frameHeight: number,
  iouThreshold = 0.3,
  nms: 'weighted' | 'plain' = 'weighted',
): FaceDetection[] {
  const all: FaceDetection[] = [];
  for (const { tile, letterbox, detections } of regions) {
    const margin = TILE_EDGE_FRACTION * Math.max(tile.width, tile.height);
    for (const d of detections) {
      const inTile = detectionToImagePx(d, letterbox);
      const f = offsetDetection(inTile, tile.x, tile.y);
      if (!tile.whole) {
        const cutLeft = tile.x > 0 && f.xMin < tile.x + margin;
        const cutTop = tile.y > 0 && f.yMin < tile.y + margin;
        const cutRight = tile.x + tile.width < frameWidth && f.xMin + f.width > tile.x + tile.width - margin;
        const cutBottom = tile.y + tile.height < frameHeight && f.yMin + f.height > tile.y + tile.height - margin;
        if (cutLeft || cutTop || cutRight || cutBottom) continue;
      }
      all.push(f);
    }
  }
  // one region was already suppressed by the decoder: suppressing again could merge boxes MediaPipe keeps apart
  if (regions.length === 1) return all.sort((a, b) => b.score - a.score);
  return nonMaxSuppression(all, iouThreshold, nms);
}

function offsetDetection(d: FaceDetection, dx: number, dy: number): FaceDetection {
  return { ...d, xMin: d.xMin + dx, yMin: d.yMin + dy, keypoints: d.keypoints.map((p) => ({ x: p.x + dx, y: p.y + dy })) };
}
