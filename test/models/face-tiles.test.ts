// Tile plans for the face detectors and the merge of per-tile detections back into frame px.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FaceDetection } from '../../models/face/decode.ts';
import { FACE_MODELS } from '../../models/face/face-models.ts';
import { MAX_FACE_TILES, MIN_FACE_INPUT_FRACTION, mergeTileDetections, planFaceTiles, type FaceTile, type TileDetections } from '../../models/face/face-tiles.ts';
import type { Letterbox } from '../../models/face/letterbox-input.ts';

const PLANS = [
  { name: 'full 1920x1080 auto: whole + 4x2 tiles of 648 px', w: 1920, h: 1080, model: 'full', mode: 'auto', tiles: 9, side: 648, xs: [0, 424, 848, 1272], ys: [0, 432] },
  { name: 'full 1280x720 auto: whole + 4x2 tiles of 432 px', w: 1280, h: 720, model: 'full', mode: 'auto', tiles: 9, side: 432, xs: [0, 283, 565, 848], ys: [0, 288] },
  { name: 'full 480x270 auto: tiles never smaller than the 192 input', w: 480, h: 270, model: 'full', mode: 'auto', tiles: 9, side: 192, xs: [0, 96, 192, 288], ys: [0, 78] },
  { name: 'full 1920x1080 off: whole frame only', w: 1920, h: 1080, model: 'full', mode: 'off', tiles: 1 },
  { name: 'full 192x192 auto: the input itself needs no tiles', w: 192, h: 192, model: 'full', mode: 'auto', tiles: 1 },
  { name: 'full 1080x1920 portrait auto: one column of frame-wide tiles', w: 1080, h: 1920, model: 'full', mode: 'auto', tiles: 3, xs: [0], ys: [0, 768] },
  { name: `short 1920x1080 auto: tiles grow until at most ${MAX_FACE_TILES} fit (whole + 5x3 of 677 px)`, w: 1920, h: 1080, model: 'short', mode: 'auto', tiles: 16, side: 677 },
] as const;

function covered(tiles: FaceTile[], w: number, h: number): boolean {
  for (let y = 0; y < h; y += 7) for (let x = 0; x < w; x += 7) if (!tiles.some((t) => !t.whole && x >= t.x && x < t.x + t.width && y >= t.y && y < t.y + t.height)) return false;
  return true;
}

describe('planFaceTiles', () => {
  for (const c of PLANS) {
    test(c.name, () => {
      const spec = FACE_MODELS[c.model];
      const plan = planFaceTiles(c.w, c.h, spec, c.mode);
      assert.equal(plan.length, c.tiles);
      assert.ok(plan.length <= MAX_FACE_TILES + 1);
      assert.deepEqual(plan[0], { x: 0, y: 0, width: c.w, height: c.h, whole: true });
      const tiles = plan.slice(1);
      for (const t of tiles) {
        assert.ok(t.x >= 0 && t.y >= 0 && t.x + t.width <= c.w && t.y + t.height <= c.h, `tile ${JSON.stringify(t)} inside the frame`);
        assert.ok(Number.isInteger(t.x) && Number.isInteger(t.y) && Number.isInteger(t.width) && Number.isInteger(t.height));
      }
      if ('side' in c) for (const t of tiles) assert.deepEqual([t.width, t.height], [c.side, c.side]);
      if ('xs' in c) {
        assert.deepEqual([...new Set(tiles.map((t) => t.x))], c.xs);
        assert.deepEqual([...new Set(tiles.map((t) => t.y))], c.ys);
      }
      if (tiles.length > 0) {
        assert.ok(covered(tiles, c.w, c.h), 'tiles cover the frame');
        // the overlap holds any face too small for the whole-frame pass
        const wholeMinFace = MIN_FACE_INPUT_FRACTION[c.model] * Math.max(c.w, c.h);
        const xs = [...new Set(tiles.map((t) => t.x))];
        for (let i = 1; i < xs.length; i++) assert.ok(xs[i - 1]! + tiles[0]!.width - xs[i]! >= Math.min(wholeMinFace, tiles[0]!.width / 2), `overlap at x ${xs[i]}`);
      }
    });
  }

  test('full 1920x1080 auto: a face of 1/20 of the height is at least 16 px in each tile input', () => {
    const tile = planFaceTiles(1920, 1080, FACE_MODELS.full, 'auto')[1]!;
    assert.ok((54 * 192) / tile.width >= 16, `${tile.width} px tiles`);
  });

  test('rejects an empty frame', () => {
    assert.throws(() => planFaceTiles(0, 1080, FACE_MODELS.full, 'auto'), /must be positive/);
  });
});

/** square letterbox of a tile into the 192 input (what letterboxToTensor computes for it). */
function letterboxOf(t: FaceTile, size = 192): Letterbox {
  const scale = Math.min(size / t.width, size / t.height);
  return { scale, padX: (size - t.width * scale) / 2, padY: (size - t.height * scale) / 2, size };
}

/** a detection whose box is `box` in frame px, expressed in normalised input coordinates of `t`. */
function detectionIn(t: FaceTile, box: { x: number; y: number; w: number; h: number }, score: number): FaceDetection {
  const lb = letterboxOf(t);
  const nx = (x: number) => ((x - t.x) * lb.scale + lb.padX) / lb.size;
  const ny = (y: number) => ((y - t.y) * lb.scale + lb.padY) / lb.size;
  return {
    xMin: nx(box.x),
    yMin: ny(box.y),
    width: (box.w * lb.scale) / lb.size,
    height: (box.h * lb.scale) / lb.size,
    score,
    keypoints: [{ x: nx(box.x + box.w * 0.3), y: ny(box.y + box.h * 0.4) }],
  };
}

describe('mergeTileDetections', () => {
  const plan = planFaceTiles(1920, 1080, FACE_MODELS.full, 'auto');
  const [whole, t0, t1] = plan as [FaceTile, FaceTile, FaceTile];
  const region = (tile: FaceTile, detections: FaceDetection[]): TileDetections => ({ tile, letterbox: letterboxOf(tile), detections });

  test('a face inside the overlap of two tiles comes out once, in frame px', () => {
    const face = { x: 500, y: 300, w: 60, h: 60 };
    assert.ok(face.x >= t1.x && face.x + face.w <= t0.x + t0.width, 'face lies in both tiles');
    const merged = mergeTileDetections([region(whole, []), region(t0, [detectionIn(t0, face, 0.8)]), region(t1, [detectionIn(t1, { ...face, x: face.x + 2 }, 0.9)])], 1920, 1080);
    assert.equal(merged.length, 1);
    const d = merged[0]!;
    assert.equal(d.score, 0.9);
    // weighted mean of the two boxes: x = (500 * 0.8 + 502 * 0.9) / 1.7
    assert.ok(Math.abs(d.xMin - (500 * 0.8 + 502 * 0.9) / 1.7) < 1e-6, `xMin ${d.xMin}`);
    assert.ok(Math.abs(d.yMin - 300) < 1e-6 && Math.abs(d.width - 60) < 1e-6 && Math.abs(d.height - 60) < 1e-6);
    assert.ok(Math.abs(d.keypoints[0]!.y - 324) < 1e-6);
  });

  test('a face straddling a tile edge: the cut half in one tile is dropped, the whole face from the other tile is kept', () => {
    const face = { x: 620, y: 200, w: 70, h: 70 }; // crosses t0's right edge at 648, inside t1 (424..1072)
    const cut = { x: 620, y: 200, w: 28, h: 70 };
    const merged = mergeTileDetections([region(t0, [detectionIn(t0, cut, 0.95)]), region(t1, [detectionIn(t1, face, 0.85)])], 1920, 1080);
    assert.equal(merged.length, 1);
    assert.ok(Math.abs(merged[0]!.width - 70) < 1e-6 && Math.abs(merged[0]!.xMin - 620) < 1e-6, JSON.stringify(merged[0]));
  });

  test('a large face found by the whole-frame pass and, cut, by a tile comes out once; separate faces stay separate', () => {
    const big = { x: 560, y: 100, w: 300, h: 300 }; // crosses t0's right edge
    const small = { x: 100, y: 700, w: 50, h: 50 };
    const t4 = plan.find((t) => !t.whole && t.x === 0 && t.y === 432)!;
    const merged = mergeTileDetections(
      [region(whole, [detectionIn(whole, big, 0.9)]), region(t0, [detectionIn(t0, { x: 560, y: 100, w: 88, h: 300 }, 0.7)]), region(t4, [detectionIn(t4, small, 0.75)])],
      1920,
      1080,
    );
    assert.equal(merged.length, 2);
    assert.deepEqual(merged.map((d) => Math.round(d.width)), [300, 50]);
    assert.ok(Math.abs(merged[1]!.xMin - 100) < 1e-6 && Math.abs(merged[1]!.yMin - 700) < 1e-6);
  });

  test('a face on the frame border of a tile is kept (frame edges are not tile seams)', () => {
    const face = { x: 2, y: 3, w: 40, h: 40 };
    const merged = mergeTileDetections([region(t0, [detectionIn(t0, face, 0.8)])], 1920, 1080);
    assert.equal(merged.length, 1);
  });
});
