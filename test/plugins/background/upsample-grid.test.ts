import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGridPlane, type GridPlane } from '../../../plugins/background/blur-grid.ts';
import { blend } from '../../../plugins/background/composite-yuv.ts';
import { beginRow, createMatteRuns, fullRowRuns, pushRun, RUN_BACKGROUND, RUN_EDGE, RUN_PERSON } from '../../../plugins/background/matte-runs.ts';
import { resizeBilinear } from '../../../plugins/background/upsample-alpha.ts';
import { blendPlaneWithGridRows, upsampleGridRows, wordsPerRow } from '../../../plugins/background/upsample-grid.ts';

/** A grid plane of random values (deterministic), rows padded with their edge cells. */
function randomGrid(planeWidth: number, planeHeight: number, cell: number, seed: number): { grid: GridPlane; values: Uint8Array } {
  const grid = createGridPlane(planeWidth, planeHeight, cell);
  const values = new Uint8Array(grid.width * grid.height);
  for (let i = 0; i < values.length; i++) values[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (let gy = 0; gy < grid.height; gy++) {
    const r = gy * (grid.width + 2);
    for (let gx = 0; gx < grid.width; gx++) grid.data[r + gx + 1] = values[gy * grid.width + gx];
    grid.data[r] = grid.data[r + 1];
    grid.data[r + grid.width + 1] = grid.data[r + grid.width];
  }
  return { grid, values };
}

/** Upsamples `grid` into `plane` where `runs` say so, as compositeBlur does. */
function upsampleInto(grid: GridPlane, plane: Uint8Array, width: number, height: number, alpha: Uint8Array, runs = fullRowRuns(width, height, RUN_BACKGROUND)): Uint8Array {
  const stride = wordsPerRow(width);
  const rows = new Uint32Array(grid.height * stride);
  const line = new Uint32Array(stride);
  upsampleGridRows(grid, rows, stride);
  blendPlaneWithGridRows(plane, width, height, alpha, runs, rows, stride, grid.height, grid.cell, line, new Uint8Array(line.buffer));
  return plane;
}

/** A zeroed plane in a buffer at byte offset 1 (no 32-bit word view possible). */
function unalignedPlane(length: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(length + 1), 1, length);
}

test('upsampling matches half-pixel-centre bilinear resampling of the grid by its cell size (within 1)', () => {
  for (const [w, h, cell] of [[64, 32, 4], [64, 40, 8], [96, 48, 16], [22, 6, 4], [11, 3, 4], [30, 18, 8], [40, 24, 16]]) {
    const { grid, values } = randomGrid(w, h, cell, w * 31 + cell);
    const fw = grid.width * cell, fh = grid.height * cell;
    const full = resizeBilinear(values, grid.width, grid.height, new Uint8Array(fw * fh), fw, fh);
    for (const plane of [new Uint8Array(w * h), unalignedPlane(w * h)]) {
      upsampleInto(grid, plane, w, h, new Uint8Array(w * h));
      let worst = 0;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) worst = Math.max(worst, Math.abs(plane[y * w + x] - full[y * fw + x]));
      assert.ok(worst <= 1, `${w}x${h} cell ${cell}, byteOffset ${plane.byteOffset}: off by ${worst}`);
    }
  }
});

test('word-aligned and byte paths give identical planes, runs starting and ending mid-word', () => {
  const w = 64, h = 24, cell = 8;
  const { grid } = randomGrid(w, h, cell, 7);
  const runs = createMatteRuns(h);
  const alpha = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    beginRow(runs, y);
    // Background [0, 5 + y), person up to 30, background to 31 (a 1-px span), edge to 45, background to the end.
    const cuts = [0, 5 + y, 30, 31, 45, w];
    const kinds = [RUN_BACKGROUND, RUN_PERSON, RUN_BACKGROUND, RUN_EDGE, RUN_BACKGROUND];
    for (let k = 0; k < kinds.length; k++) {
      pushRun(runs, y, cuts[k], cuts[k + 1], kinds[k]);
      for (let x = cuts[k]; x < cuts[k + 1]; x++) alpha[y * w + x] = kinds[k] === RUN_EDGE ? (x * 37) & 255 : kinds[k];
    }
  }
  const frame = Uint8Array.from({ length: w * h }, (_, i) => (i * 53) & 255);
  const aligned = upsampleInto(grid, frame.slice(), w, h, alpha, runs);
  const shifted = unalignedPlane(w * h);
  shifted.set(frame);
  upsampleInto(grid, shifted, w, h, alpha, runs);
  assert.deepEqual([...shifted], [...aligned]);
  // Against the all-background upsampling: person kept, edge blended, background replaced.
  const bg = upsampleInto(grid, new Uint8Array(w * h), w, h, new Uint8Array(w * h));
  for (let i = 0; i < w * h; i++) {
    const a = alpha[i];
    const expected = a === 255 ? frame[i] : a === 0 ? bg[i] : blend(frame[i], bg[i], a);
    assert.equal(aligned[i], expected, `pixel ${i % w},${Math.floor(i / w)} alpha ${a}`);
  }
});

test('a constant grid upsamples to the same constant', () => {
  const w = 50, h = 14;
  const grid = createGridPlane(w, h, 8);
  grid.data.fill(201);
  const plane = upsampleInto(grid, new Uint8Array(w * h), w, h, new Uint8Array(w * h));
  assert.ok(plane.every((v) => v === 201));
});
